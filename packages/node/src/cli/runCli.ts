import { escapeControl } from "./format.js";

/** Exit codes shared by zync's commands. Documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** Something failed at run time (I/O error, database busy, protocol failure). */
  Failure: 1,
  /** The command line or configuration was wrong. */
  Usage: 2,
  /** The sync finished, but at least one path is in conflict. */
  Conflicts: 3,
  /** The daemon could not be reached. */
  Unreachable: 4,
  /** The daemon refused the token. */
  Unauthorized: 5,
  /** E has halted a root this run syncs: R has what E recorded before, but E records nothing new for it. */
  Halted: 6,
  /** `wait` (or `--once` beside a running client): not in step with E within the timeout. */
  WaitTimedOut: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends a command with a sentence for the user and a chosen exit code. */
export class ExitError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ExitError";
    this.exitCode = exitCode;
  }
}

/** A mistake in the command line or configuration (exit code 2). */
export class UsageError extends ExitError {
  constructor(message: string) {
    super(ExitCode.Usage, message);
    this.name = "UsageError";
  }
}

/**
 * The one top-level handler of a bin: runs `main`, turns an ExitError into its sentence and code, and anything
 * unexpected into a one-line message (the stack only with ZYNC_DEBUG=1).
 */
export function runCli(name: string, main: () => Promise<number | void>): void {
  // A reader that went away (`zync-daemon status | head -1`) ends the command quietly, as a closed pipe ends any
  // Unix tool; nothing more can be said on that stream.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : ExitCode.Ok);
  });
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      // A sentence may quote what the other side sent: it is printed escaped.
      if (err instanceof ExitError) {
        process.stderr.write(`${name}: ${escapeControl(err.message)}\n`);
        process.exitCode = err.exitCode;
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${name}: ${escapeControl(message)}\n`);
      if (process.env.ZYNC_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exitCode = ExitCode.Failure;
    },
  );
}

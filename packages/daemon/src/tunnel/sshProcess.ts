import { spawn, spawnSync } from "node:child_process";
import { findOnPath } from "./sshCommand.js";

/** How a run of ssh ended. */
export type SshExit = {
  /** The exit code, or null when a signal ended it (or it never started). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when ssh could not be started at all. */
  error?: Error;
};

/** A running ssh, as the tunnel supervisor sees it. Tests pass a fake one through {@link SpawnSsh}. */
export type SshProcess = {
  readonly pid: number | undefined;
  /** Called with each piece of ssh's stderr, as text (pieces need not end at a line break). */
  onStderr(listener: (text: string) => void): void;
  /** Called once, when ssh has ended and its stderr has been read. */
  onExit(listener: (exit: SshExit) => void): void;
  kill(signal: NodeJS.Signals): void;
};

/** Starts `ssh` (a path) with `args`. */
export type SpawnSsh = (ssh: string, args: readonly string[]) => SshProcess;

/** After ssh exits, how long its stderr may stay open (held by a leftover child) before the exit is reported anyway. */
const STDERR_GRACE_MS = 250;

let pdeathsigWrapper: string[] | undefined;

/**
 * On Linux, `setpriv --pdeathsig TERM` makes the kernel send ssh SIGTERM when the daemon dies, even by SIGKILL
 * where no exit handler runs. Probed once; elsewhere (or without a setpriv that knows the flag) ssh runs as is.
 */
function parentDeathWrapper(): string[] {
  if (pdeathsigWrapper !== undefined) return pdeathsigWrapper;
  pdeathsigWrapper = [];
  const setpriv = process.platform === "linux" ? findOnPath("setpriv") : undefined;
  if (setpriv !== undefined) {
    // An older setpriv stops at the unknown flag (exit 1) before it gets to --version.
    const probe = spawnSync(setpriv, ["--pdeathsig", "TERM", "--version"], { stdio: "ignore", timeout: 10_000 });
    if (probe.status === 0) pdeathsigWrapper = [setpriv, "--pdeathsig", "TERM", "--"];
  }
  return pdeathsigWrapper;
}

/**
 * Starts ssh as a child that does not outlive this process: it stays in the daemon's process group
 * (`detached: false`), is sent SIGTERM when the daemon exits, and on Linux also when the daemon is killed.
 */
export const spawnSshProcess: SpawnSsh = (ssh, args) => {
  const [wrapper, ...wrapperArgs] = parentDeathWrapper();
  const child =
    wrapper === undefined
      ? spawn(ssh, args, { stdio: ["ignore", "ignore", "pipe"], detached: false })
      : spawn(wrapper, [...wrapperArgs, ssh, ...args], { stdio: ["ignore", "ignore", "pipe"], detached: false });

  const killOnParentExit = (): void => {
    child.kill("SIGTERM");
  };
  process.on("exit", killOnParentExit);

  const stderrListeners: ((text: string) => void)[] = [];
  const exitListeners: ((exit: SshExit) => void)[] = [];
  let reported = false;
  const report = (exit: SshExit): void => {
    if (reported) return;
    reported = true;
    process.off("exit", killOnParentExit);
    for (const l of exitListeners) l(exit);
  };

  let stderrClosed = false;
  let exited: SshExit | undefined;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    for (const l of stderrListeners) l(text);
  });
  child.stderr.on("close", () => {
    stderrClosed = true;
    if (exited) report(exited);
  });
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    if (stderrClosed) report(exited);
    else setTimeout(() => report({ code, signal }), STDERR_GRACE_MS).unref();
  });
  child.on("error", (error) => {
    // Only a failed start ends the run here; a failed kill of a live process is not an exit.
    if (child.pid === undefined) report({ code: null, signal: null, error });
  });

  return {
    get pid() {
      return child.pid;
    },
    onStderr: (l) => void stderrListeners.push(l),
    onExit: (l) => void exitListeners.push(l),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
};

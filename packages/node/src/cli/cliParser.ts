import { UsageError } from "./runCli.js";

/** The parts of a yargs instance the shared settings touch (structural, so this package needs no yargs). */
type Parser<Y> = {
  strict(): Y;
  help(): Y;
  version(enabled: false): Y;
  wrap(columns: number): Y;
  fail(handler: (msg: string, err: Error | undefined) => never): Y;
};

/**
 * The settings every zync command line shares: unknown flags are errors, --help, no --version, output wrapped
 * to the terminal, and every parse failure turned into one sentence with exit code 2.
 */
export function withZyncDefaults<Y extends Parser<Y>>(y: Y): Y {
  return y
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs may say it on several lines ("Invalid values:\n  Argument: …"): one sentence, on one line.
      throw err instanceof Error ? err : new UsageError(`${msg.replace(/:\s*\n\s*/g, ": ").replace(/\s*\n\s*/g, "; ")} (see --help)`);
    });
}

/**
 * Shell completion for a zync command (yargs' own, through `.completion("completion", …, this)`), without the
 * `$0` that yargs offers for a default command.
 */
export function completeWithoutDefaultCommand(
  _current: string,
  _argv: unknown,
  completionFilter: (onCompleted?: (err: Error | null, completions: string[] | undefined) => void) => unknown,
  done: (completions: string[]) => void,
): void {
  completionFilter((_err, completions) => done((completions ?? []).filter((c) => c !== "$0" && !c.startsWith("$0:"))));
}

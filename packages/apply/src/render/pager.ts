import { spawn } from "node:child_process";

/** What decides whether a text is paged: the terminal stdout is (if any) and the PAGER the user set. */
export type PagerTerminal = {
  /** True when stdout is a terminal. */
  isTTY: boolean;
  /** The terminal's height in lines, when known. */
  rows: number | undefined;
  /** The PAGER environment variable as set (undefined when unset). */
  pager: string | undefined;
};

/**
 * The shell command to page `lines` lines through, or undefined to print them as they are: never when stdout is
 * not a terminal or the text fits on it (one line is left for the prompt that follows), `less` unless PAGER names
 * another command, and no pager at all when PAGER is empty or `cat`.
 */
export function pagerCommand(lines: number, term: PagerTerminal): string | undefined {
  if (!term.isTTY || term.rows === undefined || lines < term.rows) return undefined;
  const command = (term.pager ?? "less").trim();
  return command === "" || command === "cat" ? undefined : command;
}

/** Shows a text to a person: through a pager when it does not fit the terminal, otherwise printed. */
export type Pager = (text: string) => Promise<void>;

/**
 * A {@link Pager} for this process's terminal. The pager runs through `sh -c` (PAGER may carry options) with the
 * text on its stdin and the terminal as its stdout; `LESS` defaults to `FRX` (colours shown, the text left on the
 * screen after quitting). Ctrl-C meanwhile is the pager's to handle, not a reason for zync-apply to exit. A pager
 * that cannot be started (exit 127 from the shell) falls back to printing the text.
 */
export function terminalPager(out: (line: string) => void, stdout: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Pager {
  return async (text) => {
    const command = pagerCommand(text.split("\n").length, { isTTY: Boolean(stdout.isTTY), rows: stdout.rows, pager: env.PAGER });
    if (command === undefined) return out(text);
    const ignoreInterrupt = (): void => {};
    process.on("SIGINT", ignoreInterrupt);
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "inherit", "inherit"], env: { ...env, LESS: env.LESS ?? "FRX" } });
        child.once("error", reject);
        child.once("close", (c) => resolve(c));
        // A pager quit before reading everything closes its end: not an error.
        child.stdin.on("error", () => {});
        child.stdin.end(`${text}\n`);
      });
      if (code === 127) out(text);
    } finally {
      process.off("SIGINT", ignoreInterrupt);
    }
  };
}

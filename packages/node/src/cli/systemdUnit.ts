import { UsageError } from "./runCli.js";

/** A word systemd reads as it is: no quotes, blanks, backslashes, specifiers (%) or variables ($). */
const PLAIN_WORD = /^[A-Za-z0-9_@+=:,./-]+$/;

/**
 * One command-line word written for systemd's `ExecStart=`: quoted when it holds anything but plain characters,
 * with `\` and `"` escaped inside the quotes, `%` doubled (else a specifier such as %h) and `$` doubled (else a
 * variable). A word with a line break, NUL or other control character cannot be written and is refused.
 */
export function systemdWord(word: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(word)) throw new UsageError(`${JSON.stringify(word)} holds a control character, which a systemd unit cannot carry`);
  if (word === "") return '""';
  if (PLAIN_WORD.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

/** What a systemd user unit for one zync command holds. */
export type UserUnit = {
  /** One line for `Description=`. */
  description: string;
  /** The program and its arguments, absolute paths already. */
  argv: readonly string[];
  /** The command that wrote it, named in the unit's first comment. */
  writtenBy: string;
};

/** The text of a systemd user unit that runs `argv`, restarts it on failure and starts with the user's session. */
export function renderUserUnit(unit: UserUnit): string {
  return [
    `# Written by '${unit.writtenBy}'; run it again to change the flags.`,
    "[Unit]",
    `Description=${unit.description.replace(/%/g, "%%")}`,
    "",
    "[Service]",
    `ExecStart=${unit.argv.map(systemdWord).join(" ")}`,
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

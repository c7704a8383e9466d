import { escapeControl } from "./format.js";

/** How much a command prints. */
export type LogLevel = "quiet" | "normal" | "verbose";

/** Where a command's messages go. Info lines go to stdout, warnings and errors to stderr. */
export type Logger = {
  info(msg: string): void;
  verbose(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
};

/** Something drawn on the terminal's current line (a progress bar) that steps aside while a message is printed. */
export type LineDisplay = {
  /** Clears the line, so the message starts at its beginning. */
  clear(): void;
  /** Draws the display again, below the message. */
  redraw(): void;
};

let display: LineDisplay | undefined;

/** Registers the display every logger's messages step around, or none. */
export function showOnTerminal(d: LineDisplay | undefined): void {
  display = d;
}

function print(stream: NodeJS.WriteStream, text: string): void {
  display?.clear();
  stream.write(text);
  display?.redraw();
}

/**
 * A logger that prefixes warnings and errors with the command's name. Each message is one line, printed with its
 * control characters escaped: messages quote paths and sentences that came from the other side.
 */
export function createLogger(name: string, level: LogLevel = "normal"): Logger {
  const line = (msg: string): string => `${escapeControl(msg)}\n`;
  return {
    info: (msg) => {
      if (level !== "quiet") print(process.stdout, line(msg));
    },
    verbose: (msg) => {
      if (level === "verbose") print(process.stdout, line(msg));
    },
    warn: (msg) => print(process.stderr, `${name}: warning: ${line(msg)}`),
    error: (msg) => print(process.stderr, `${name}: ${line(msg)}`),
  };
}

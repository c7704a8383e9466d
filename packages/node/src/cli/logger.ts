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

/**
 * A logger that prefixes warnings and errors with the command's name. Each message is one line, printed with its
 * control characters escaped: messages quote paths and sentences that came from the other side.
 */
export function createLogger(name: string, level: LogLevel = "normal"): Logger {
  const line = (msg: string): string => `${escapeControl(msg)}\n`;
  return {
    info: (msg) => {
      if (level !== "quiet") process.stdout.write(line(msg));
    },
    verbose: (msg) => {
      if (level === "verbose") process.stdout.write(line(msg));
    },
    warn: (msg) => process.stderr.write(`${name}: warning: ${line(msg)}`),
    error: (msg) => process.stderr.write(`${name}: ${line(msg)}`),
  };
}

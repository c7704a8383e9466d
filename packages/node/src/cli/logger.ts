/** How much a command prints. */
export type LogLevel = "quiet" | "normal" | "verbose";

/** Where a command's messages go. Info lines go to stdout, warnings and errors to stderr. */
export type Logger = {
  info(msg: string): void;
  verbose(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
};

/** A logger that prefixes warnings and errors with the command's name. */
export function createLogger(name: string, level: LogLevel = "normal"): Logger {
  return {
    info: (msg) => {
      if (level !== "quiet") process.stdout.write(`${msg}\n`);
    },
    verbose: (msg) => {
      if (level === "verbose") process.stdout.write(`${msg}\n`);
    },
    warn: (msg) => process.stderr.write(`${name}: warning: ${msg}\n`),
    error: (msg) => process.stderr.write(`${name}: ${msg}\n`),
  };
}

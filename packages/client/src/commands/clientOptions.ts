import { statSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_SOCKET_SERVER, DEFAULT_TCP_SERVER, parseServerAddress, type ServerAddress } from "../serverAddress.js";
import { createLogger, escapeControl, readTokenFile, TOKEN_ENV, UsageError, type Logger } from "@zync/node";

/** The token: ZYNC_TOKEN, else the --token-file; a sentence (exit 2) when neither is there. */
export function readToken(tokenFile: string | undefined): string {
  const fromEnv = process.env[TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
  if (tokenFile === undefined) {
    throw new UsageError(`no token: set ${TOKEN_ENV} or pass --token-file (the daemon keeps its token next to its database, e.g. sync.db.token)`);
  }
  try {
    return readTokenFile(tokenFile);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Checks --server (a sentence and exit 2 when it is malformed). Without one, the managed tunnel's socket
 * (`~/.zync/zync.sock`) is used when it exists, else `ws://localhost:8000`.
 */
export function checkServerUrl(value: string | undefined): ServerAddress {
  if (value === undefined) {
    const socket = parseServerAddress(DEFAULT_SOCKET_SERVER);
    return typeof socket === "string" && isSocket(socket.slice("unix:".length)) ? socket : DEFAULT_TCP_SERVER;
  }
  const parsed = parseServerAddress(value);
  if (typeof parsed !== "string") throw new UsageError(parsed.problem);
  return parsed;
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** The logger for the chosen verbosity. With `--json`, stdout carries only JSON, so every message goes to stderr. */
export function loggerFor(argv: { quiet: boolean; verbose: boolean; json?: boolean }): Logger {
  const level = argv.quiet ? "quiet" : argv.verbose ? "verbose" : "normal";
  const logger = createLogger("zync-client", level);
  if (argv.json !== true) return logger;
  const line = (msg: string): void => void process.stderr.write(`${escapeControl(msg)}\n`);
  return {
    ...logger,
    info: (msg) => level !== "quiet" && line(msg),
    verbose: (msg) => level === "verbose" && line(msg),
  };
}

export function dbPathOf(db: string): string {
  return resolve(db);
}

import { resolve } from "node:path";
import { createLogger, readTokenFile, TOKEN_ENV, UsageError, type Logger } from "@zync/node";

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

/** Checks that --server is a ws:// or wss:// URL. */
export function checkServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(url)} is not a URL; use e.g. ws://localhost:8000`);
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new UsageError(`--server must start with ws:// or wss://, not ${parsed.protocol}//`);
  return url;
}

/** The logger for the chosen verbosity. */
export function loggerFor(argv: { quiet: boolean; verbose: boolean }): Logger {
  return createLogger("zync-client", argv.quiet ? "quiet" : argv.verbose ? "verbose" : "normal");
}

export function dbPathOf(db: string): string {
  return resolve(db);
}

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import {
  createLogger,
  ExitCode,
  ExitError,
  lockDatabase,
  parseDirs,
  readTokenFile,
  runCli,
  TOKEN_ENV,
  UsageError,
  type Logger,
  type NamedDir,
} from "@zync/node";
import { RemoteError } from "./daemonConnection.js";
import { pushAll } from "./upstream/pushUpstream.js";
import { ConnectionError } from "./daemonConnection.js";
import { ClientStore } from "./store/clientStore.js";
import { runLoop } from "./syncLoop.js";
import { connect, prepareRoots, RootsMismatchError, syncAll, type SyncOptions } from "./syncSession.js";
import { reportRun } from "./syncLoop.js";

function readToken(tokenFile: string | undefined): string {
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

function checkServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(url)} is not a URL; use e.g. ws://localhost:8000`);
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new UsageError(`--server must start with ws:// or wss://, not ${parsed.protocol}//`);
  return url;
}

/** Maps a failure to connect or sync to the documented exit codes. */
function asExit(err: unknown): unknown {
  if (err instanceof ConnectionError) {
    const code = err.kind === "unauthorized" ? ExitCode.Unauthorized : err.kind === "protocol" ? ExitCode.Failure : ExitCode.Unreachable;
    return new ExitError(code, err.message);
  }
  if (err instanceof RootsMismatchError) return new UsageError(err.message);
  if (err instanceof RemoteError) return new ExitError(ExitCode.Failure, `the daemon refused: ${err.message}`);
  return err;
}

/**
 * Pushes R's changes upstream. It only reads the client's store, so it may run while a long-running client
 * holds the store's lock.
 */
async function pushUpstream(url: string, token: string, dbPath: string, dirs: NamedDir[], ignore: string[], logger: Logger): Promise<number> {
  if (!existsSync(dbPath)) throw new UsageError(`no client database at ${dbPath}: pull from E at least once before pushing upstream (or pass --db)`);
  const store = new ClientStore(dbPath);
  try {
    const conn = await connect(store, url, token, false).catch((err: unknown) => Promise.reject(asExit(err)));
    try {
      await pushAll(conn, store, dirs, ignore, logger).catch((err: unknown) => Promise.reject(asExit(err)));
    } finally {
      conn.close();
    }
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}

async function main(): Promise<number | void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName("zync-client")
    .usage("$0 --dirs NAME:PATH [NAME:PATH ...] [options]\n\nPulls changes from a zync daemon into local folders, never overwriting an edit made here.")
    .option("server", { type: "string", default: "ws://localhost:8000", describe: "the daemon's address (through the SSH tunnel)" })
    .option("db", { type: "string", default: "sync_client.db", describe: "this client's state (cursors, bases, conflicts)" })
    .option("dirs", { type: "string", array: true, demandOption: true, describe: "local roots, as name:/path; names match the daemon's" })
    .option("interval", { type: "number", default: 60, describe: "seconds between pulls when no change notice arrives" })
    .option("once", { type: "boolean", default: false, describe: "pull until caught up, then exit (for scripts)" })
    .option("update-upstream", { type: "boolean", default: false, describe: "push what changed on R to E as a session to review with zync-apply, then exit" })
    .option("token-file", { type: "string", describe: `file holding the daemon's token (${TOKEN_ENV} wins)` })
    .option("ignore", { type: "string", array: true, default: [] as string[], describe: "extra gitignore-style pattern to leave alone here (repeatable)" })
    .option("prefer-daemon", { type: "boolean", default: false, describe: "on a conflict take E's version and keep R's beside it as NAME.zync-conflict-TIME" })
    .option("fsync", { type: "boolean", default: false, describe: "flush every file to disk before it is renamed into place (slower)" })
    .option("verbose", { type: "boolean", default: false, describe: "print every path written or deleted" })
    .option("quiet", { type: "boolean", default: false, describe: "print only warnings, conflicts and errors" })
    .example([
      ["$0 --dirs docs:/home/user/synced/docs code:/home/user/synced/code", "keep two folders in step, live"],
      ["$0 --once --token-file ~/.zync-token --dirs code:~/code", "one catch-up pull for a script; exit code 3 on conflicts"],
      ["$0 --update-upstream --dirs code:~/code", "send R's own edits to E, staged for review with zync-apply"],
    ])
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err instanceof Error ? err : new UsageError(`${msg} (see --help)`);
    })
    .parseAsync();

  const url = checkServerUrl(argv.server);
  if (!Number.isFinite(argv.interval) || argv.interval <= 0) throw new UsageError("--interval must be a number of seconds above 0");
  const dirs = parseDirs(argv.dirs);
  const token = readToken(argv["token-file"]);
  const logger = createLogger("zync-client", argv.quiet ? "quiet" : argv.verbose ? "verbose" : "normal");
  const dbPath = resolve(argv.db);
  if (argv["update-upstream"]) {
    if (argv.once) throw new UsageError("--update-upstream and --once are separate runs; give one of them");
    return pushUpstream(url, token, dbPath, dirs, argv.ignore, logger);
  }
  const unlock = lockDatabase(dbPath);
  const store = new ClientStore(dbPath);
  const opts: SyncOptions = { dirs, ignore: argv.ignore, preferDaemon: argv["prefer-daemon"], fsync: argv.fsync, logger };
  try {
    await prepareRoots(dirs, logger);
    if (argv.once) {
      const conn = await connect(store, url, token, false).catch((err: unknown) => Promise.reject(asExit(err)));
      try {
        const report = await syncAll(conn, store, opts).catch((err: unknown) => Promise.reject(asExit(err)));
        reportRun(report, opts, new Set());
        if (report.conflicts.length === 0 && !argv.quiet) logger.info(`up to date with ${url}`);
      } finally {
        conn.close();
      }
      const open = store.conflicts().filter((c) => dirs.some((d) => d.name === c.root));
      return open.length > 0 ? ExitCode.Conflicts : ExitCode.Ok;
    }
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const timing = { intervalMs: argv.interval * 1000, heartbeatMs: 30_000, backoffInitialMs: 500, backoffMaxMs: 30_000 };
    await runLoop(store, url, token, opts, timing, stop.signal).catch((err: unknown) => Promise.reject(asExit(err)));
    return ExitCode.Ok;
  } finally {
    store.close();
    unlock();
  }
}

runCli("zync-client", main);

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import {
  createLogger,
  createTokenFile,
  parseDirs,
  readTokenFile,
  requireExistingDirs,
  runCli,
  TOKEN_ENV,
  UsageError,
  type Logger,
} from "@zync/node";
import { startDaemon } from "./daemon.js";

const EXAMPLES = [
  ["$0 --dirs docs:/home/user/documents code:/home/user/projects", "watch two folders, listen on 127.0.0.1:8000"],
  ["$0 --port 0 --db /tmp/zync.db --dirs src:.", "pick a free port (printed as 'listening on ws://...')"],
] as const;

/** Chooses the token: ZYNC_TOKEN, else --token-file, else `<db>.token`; a missing file is created (mode 0600). */
function resolveToken(tokenFile: string | undefined, dbPath: string, logger: Logger): string {
  const fromEnv = process.env[TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
  const path = resolve(tokenFile ?? `${dbPath}.token`);
  if (existsSync(path)) return readTokenFile(path);
  const token = createTokenFile(path);
  logger.info(`created a new token in ${path}; give it to the client with --token-file or ${TOKEN_ENV}`);
  return token;
}

function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a number of at least 0`);
  return value;
}

async function main(): Promise<number | void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName("zync-daemon")
    .usage("$0 --dirs NAME:PATH [NAME:PATH ...] [options]\n\nWatches folders on this workstation and serves their changes to zync clients.")
    .option("host", { type: "string", default: "127.0.0.1", describe: "address to listen on (keep it on loopback; use an SSH tunnel)" })
    .option("port", { type: "number", default: 8000, describe: "port to listen on; 0 picks a free one" })
    .option("db", { type: "string", default: "sync.db", describe: "SQLite change log (one daemon per database)" })
    .option("dirs", { type: "string", array: true, demandOption: true, describe: "roots to serve, as name:/path" })
    .option("ignore", { type: "string", array: true, default: [] as string[], describe: "extra gitignore-style pattern (repeatable)" })
    .option("token-file", { type: "string", describe: `file holding the shared token (default: <db>.token; ${TOKEN_ENV} wins)` })
    .option("rescan-interval", { type: "number", default: 600, describe: "seconds between full rescans that catch missed events; 0 = never" })
    .option("tombstone-days", { type: "number", default: 30, describe: "days deletions are remembered for clients that are away" })
    .option("debounce", { type: "number", default: 30, describe: "milliseconds of quiet before a burst of events is indexed" })
    .option("verbose", { type: "boolean", default: false, describe: "print more detail" })
    .option("quiet", { type: "boolean", default: false, describe: "print only the listening line, warnings and errors" })
    .example(EXAMPLES.map(([a, b]) => [a, b]))
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err instanceof Error ? err : new UsageError(`${msg} (see --help)`);
    })
    .parseAsync();

  const port = positiveNumber("port", argv.port);
  if (!Number.isInteger(port) || port > 65535) throw new UsageError("--port must be a whole number from 0 to 65535");
  const dirs = parseDirs(argv.dirs);
  requireExistingDirs(dirs);
  const logger = createLogger("zync-daemon", argv.quiet ? "quiet" : argv.verbose ? "verbose" : "normal");
  const dbPath = resolve(argv.db);
  const token = resolveToken(argv["token-file"], dbPath, logger);

  const daemon = await startDaemon({
    host: argv.host,
    port,
    dbPath,
    dirs,
    ignore: argv.ignore,
    token,
    rescanIntervalMs: positiveNumber("rescan-interval", argv["rescan-interval"]) * 1000,
    tombstoneMs: positiveNumber("tombstone-days", argv["tombstone-days"]) * 86_400_000,
    watchTiming: { debounceMs: positiveNumber("debounce", argv.debounce), maxWaitMs: 500 },
    logger,
  });
  const host = daemon.server.host.includes(":") ? `[${daemon.server.host}]` : daemon.server.host;
  process.stdout.write(`listening on ws://${host}:${daemon.server.port}\n`);
  logger.verbose(`serving ${dirs.map((d) => `${d.name}=${d.abs}`).join(", ")}; head ${daemon.log.head()}`);

  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      daemon.close().then(done, (err: unknown) => {
        logger.error(`shutdown failed: ${String(err)}`);
        done();
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

runCli("zync-daemon", main);

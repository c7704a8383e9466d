import { existsSync, mkdirSync } from "node:fs";
import type { CompressMode } from "@zync/protocol";
import { dirname, resolve } from "node:path";
import { createLogger, createTokenFile, escapeControl, type LogLevel, parseDirs, readTokenFile, requireExistingDirs, TOKEN_ENV, UsageError, type Logger } from "@zync/node";
import { startDaemon } from "../daemon.js";
import { jsonLineEvents } from "../liveEvents.js";
import { planTunnel, startTunnel } from "../tunnel/tunnelPlan.js";

/** The serve command's flags, as parsed. */
export type ServeArgs = {
  host: string;
  port: number;
  db: string;
  dirs: string[];
  ignore: string[];
  "git-tracked-only"?: boolean;
  "token-file"?: string;
  "rescan-interval": number;
  "unwatched-rescan-interval": number;
  "tombstone-days": number;
  "versions-days": number;
  "versions-max-mb": number;
  debounce: number;
  "allow-mass-delete": boolean;
  "max-delete": number;
  /** Seconds recording of a root waits for git at most; 0 records without waiting. */
  "git-wait"?: number;
  /** How connections use feature `compress`. */
  compress: CompressMode;
  verbose: boolean;
  quiet: boolean;
  json?: boolean;
  tunnel?: string;
  "remote-port"?: number;
  "tunnel-socket"?: string;
  "ssh-option"?: string[];
  "ssh-identity"?: string;
};

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

function atLeastZero(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a number of at least 0`);
  return value;
}

function moreThanZero(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a number of seconds greater than 0`);
  return value;
}

/** A logger whose messages all go to stderr (stdout carries `--json` events). */
function toStderr(logger: Logger, level: LogLevel): Logger {
  const line = (msg: string): void => void process.stderr.write(`${escapeControl(msg)}\n`);
  return { ...logger, info: (msg) => level !== "quiet" && line(msg), verbose: (msg) => level === "verbose" && line(msg) };
}

/** Runs the daemon until SIGINT or SIGTERM. */
export async function serve(argv: ServeArgs): Promise<void> {
  const port = atLeastZero("port", argv.port);
  if (!Number.isInteger(port) || port > 65535) throw new UsageError("--port must be a whole number from 0 to 65535");
  const maxDelete = atLeastZero("max-delete", argv["max-delete"]);
  if (maxDelete > 100) throw new UsageError("--max-delete is a percentage from 0 to 100");
  const dirs = parseDirs(argv.dirs);
  requireExistingDirs(dirs);
  const tunnelPlan = planTunnel({
    tunnel: argv.tunnel,
    remotePort: argv["remote-port"],
    tunnelSocket: argv["tunnel-socket"],
    sshOptions: argv["ssh-option"],
    sshIdentity: argv["ssh-identity"],
  });
  const level = argv.quiet ? "quiet" : argv.verbose ? "verbose" : "normal";
  const json = argv.json === true;
  const logger = json ? toStderr(createLogger("zync-daemon", level), level) : createLogger("zync-daemon", level);
  const events = json ? jsonLineEvents((line) => void process.stdout.write(line)) : undefined;
  // A long-running daemon logs a failure it did not expect rather than dropping every client with it.
  process.on("unhandledRejection", (err) => logger.error(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`));
  // Every setting is checked before anything is written (the token file on a first run).
  const settings = {
    host: argv.host,
    port,
    dirs,
    ignore: argv.ignore,
    gitTrackedOnly: argv["git-tracked-only"] === true,
    rescanIntervalMs: atLeastZero("rescan-interval", argv["rescan-interval"]) * 1000,
    unwatchedRescanMs: moreThanZero("unwatched-rescan-interval", argv["unwatched-rescan-interval"]) * 1000,
    tombstoneMs: atLeastZero("tombstone-days", argv["tombstone-days"]) * 86_400_000,
    watchTiming: { debounceMs: atLeastZero("debounce", argv.debounce), maxWaitMs: 500 },
    deleteGuard: { allow: argv["allow-mass-delete"], maxShare: maxDelete / 100 },
    compress: argv.compress,
    gitHold: argv["git-wait"] === 0 ? { off: true } : { ceilingMs: atLeastZero("git-wait", argv["git-wait"] ?? 30) * 1000 },
    versionLimits: { maxAgeMs: atLeastZero("versions-days", argv["versions-days"]) * 86_400_000, maxBytes: atLeastZero("versions-max-mb", argv["versions-max-mb"]) * 1024 * 1024 },
  };
  const dbPath = resolve(argv.db);
  // A database in a folder that does not exist yet (~/.zync on a first run) gets its folder, token file included.
  mkdirSync(dirname(dbPath), { recursive: true });
  const token = resolveToken(argv["token-file"], dbPath, logger);

  const daemon = await startDaemon({
    ...settings,
    dbPath,
    token,
    logger,
    ...(events ? { events } : {}),
  });
  const host = daemon.server.host.includes(":") ? `[${daemon.server.host}]` : daemon.server.host;
  const url = `ws://${host}:${daemon.server.port}`;
  if (events) events({ event: "listening", url });
  (json ? process.stderr : process.stdout).write(`listening on ${url}\n`);
  logger.verbose(`serving ${dirs.map((d) => `${d.name}=${d.abs}`).join(", ")}; head ${daemon.log.head()}`);
  const tunnel = tunnelPlan && startTunnel(tunnelPlan, daemon.server.host, daemon.server.port, logger);

  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      (tunnel?.stop() ?? Promise.resolve())
        .then(() => daemon.close())
        .then(done, (err: unknown) => {
          logger.error(`shutdown failed: ${String(err)}`);
          done();
        });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

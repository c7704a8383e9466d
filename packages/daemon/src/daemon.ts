import type Database from "better-sqlite3";
import { IGNORE_FILE, loadIgnoreRules, lockDatabase, SafeRoot, type IgnoreRules, type Logger, type NamedDir } from "@zync/node";
import { chokidarHints, type ChangeHints, type WatchTiming } from "./rootWatcher.js";
import { RootIndexer } from "./rootIndexer.js";
import { startServer, type RunningServer } from "./server/httpServer.js";
import { ChangeLog } from "./store/changeLog.js";
import { openDatabase, stagingDirFor } from "./store/database.js";
import { ActivityLog } from "./store/activityLog.js";
import { StagingStore } from "./upstream/stagingStore.js";
import { ownFilePatterns } from "./upstream/servedPaths.js";


/** Everything the daemon needs; the CLI fills it from flags, tests directly. */
export type DaemonOptions = {
  host: string;
  port: number;
  dbPath: string;
  dirs: readonly NamedDir[];
  /** Extra gitignore-syntax patterns for every root. */
  ignore: readonly string[];
  token: string;
  /** Full rescans at this interval to catch anything the watcher missed; 0 turns them off. */
  rescanIntervalMs: number;
  /** Deletions are remembered this long; a client that was away longer gets a full resync. */
  tombstoneMs: number;
  watchTiming: WatchTiming;
  /** The mass-deletion guard: `allow` records such deletions anyway; `maxShare` (0..1) of a root's files may vanish at once. */
  deleteGuard?: { allow: boolean; maxShare: number; retryMs?: number };
  logger: Logger;
  /** Source of change hints per root; chokidar unless a test injects another. */
  hints?: (root: NamedDir, rules: IgnoreRules) => ChangeHints;
};

/** A started daemon. */
export type RunningDaemon = {
  log: ChangeLog;
  server: RunningServer;
  indexers: readonly RootIndexer[];
  /** Rescans every root now (what the periodic timer does). */
  rescan(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Starts the daemon: takes the database lock, reconciles every root with the change log while the watchers come
 * up, then listens. Resolves once clients can be served.
 */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const unlock = lockDatabase(opts.dbPath);
  let db: Database.Database | undefined;
  let log: ChangeLog | undefined;
  const hintSources: ChangeHints[] = [];
  try {
    db = openDatabase(opts.dbPath);
    log = new ChangeLog(db);
    const changeLog = log;
    changeLog.setRoots(opts.dirs.map((d) => ({ name: d.name, path: d.abs })));
    const pruned = changeLog.pruneDeletions(Date.now() - opts.tombstoneMs);
    if (pruned > 0) opts.logger.verbose(`forgot ${pruned} old deletions`);

    const activity = new ActivityLog(changeLog.db);
    activity.resetPresence();
    // Warnings and errors also go to the database, where 'zync-daemon status' shows the latest.
    const logger: Logger = {
      ...opts.logger,
      warn: (msg) => {
        opts.logger.warn(msg);
        activity.event("warn", msg);
      },
      error: (msg) => {
        opts.logger.error(msg);
        activity.event("error", msg);
      },
    };
    const guard = {
      allow: opts.deleteGuard?.allow ?? false,
      maxShare: opts.deleteGuard?.maxShare ?? 0.5,
      retryMs: opts.deleteGuard?.retryMs ?? 30_000,
      onHalt: (root: string, reason: string) => activity.halt(root, reason),
      onResume: (root: string) => activity.resume(root),
    };
    for (const h of activity.halted()) activity.resume(h.root);
    const indexers: RootIndexer[] = [];
    const ready: Promise<void>[] = [];
    const reconciles: Promise<unknown>[] = [];
    const rulesOf = new Map<string, { rules: IgnoreRules; extra: string[] }>();
    for (const dir of opts.dirs) {
      const extra = [...opts.ignore, ...ownFilePatterns(opts.dbPath, dir.abs)];
      const rules = loadIgnoreRules(dir.abs, extra);
      rulesOf.set(dir.name, { rules, extra });
      const indexer = new RootIndexer(changeLog, { name: dir.name, abs: dir.abs }, rules, (msg) => logger.warn(msg), guard);
      indexers.push(indexer);
      const hints = (opts.hints ?? ((d, r) => chokidarHints(d.abs, r, opts.watchTiming)))(dir, rules);
      hintSources.push(hints);
      const onPaths = (paths: string[]): void => {
        if (paths.includes(IGNORE_FILE)) {
          rules.reload();
          indexer.reconcile().catch((err: unknown) => logger.warn(`rescan of ${dir.name} failed: ${String(err)}`));
        }
        indexer.checkPaths(paths).catch((err: unknown) => logger.warn(`indexing ${dir.name} failed: ${String(err)}`));
      };
      const onError = (err: Error): void => {
        logger.warn(`watcher error in ${dir.name}: ${err.message}; rescanning`);
        indexer.reconcile().catch((e: unknown) => logger.warn(`rescan of ${dir.name} failed: ${String(e)}`));
      };
      ready.push(hints.start(onPaths, onError));
      reconciles.push(
        indexer.reconcile().then((s) => logger.verbose(`${dir.name}: scanned ${s.scanned}, hashed ${s.hashed}, recorded ${s.recorded}`)),
      );
    }
    await Promise.all([...reconciles, ...ready]);

    const roots = new Map(opts.dirs.map((d) => [d.name, new SafeRoot(d.abs)]));
    const staging = new StagingStore(changeLog.db, stagingDirFor(opts.dbPath));
    // Upstream offers are judged by the same rules as E's own files, here and again by zync-apply.
    for (const [name, r] of rulesOf) staging.recordIgnoreExtras(name, r.extra);
    const rules = new Map([...rulesOf].map(([name, r]) => [name, r.rules]));
    const server = await startServer({ host: opts.host, port: opts.port, token: opts.token }, { log: changeLog, activity, staging, roots, rules, logger });

    const rescan = async (): Promise<void> => {
      for (const ix of indexers) await ix.reconcile();
    };
    const timer =
      opts.rescanIntervalMs > 0
        ? setInterval(() => void rescan().catch((err: unknown) => logger.warn(`periodic rescan failed: ${String(err)}`)), opts.rescanIntervalMs)
        : undefined;

    let closed = false;
    return {
      log: changeLog,
      server,
      indexers,
      rescan,
      close: async () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        for (const ix of indexers) ix.stop();
        await server.close();
        await Promise.all(hintSources.map((h) => h.close()));
        // Let in-flight indexing finish before the database closes.
        await Promise.all(indexers.map((ix) => ix.checkPaths([])));
        changeLog.close();
        unlock();
      },
    };
  } catch (err) {
    await Promise.all(hintSources.map((h) => h.close().catch(() => undefined)));
    db?.close();
    unlock();
    throw err;
  }
}

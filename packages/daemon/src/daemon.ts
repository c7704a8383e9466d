import type Database from "better-sqlite3";
import type { CompressMode } from "@zync/protocol";
import { isCookie, loadIgnoreRules, lockDatabase, SafeRoot, UsageError, type ExplainedIgnoreRules, type IgnoreRules, type Logger, type NamedDir } from "@zync/node";
import { directoryHints, type ChangeHints, type WatchTiming } from "./rootWatcher.js";
import { RootIndexer } from "./rootIndexer.js";
import { startServer, type RunningServer } from "./server/httpServer.js";
import { ContentCache } from "./server/contentCache.js";
import { ChangeLog } from "./store/changeLog.js";
import { openDatabase, stagingDirFor } from "./store/database.js";
import { VERSION_PRUNE_INTERVAL_MS, VersionStore, versionDirFor, type ServedAt, type VersionLimits } from "./store/versionStore.js";
import { VersionIndex } from "./store/versionIndex.js";
import { ActivityLog } from "./store/activityLog.js";
import { StagingStore } from "./upstream/stagingStore.js";
import { isIgnoreFile, ownFilePatterns } from "./upstream/servedPaths.js";
import { watchGitState } from "./gitStateWatch.js";
import { BARRIER_TIMEOUT_MS, CookieBoard, passBarrier } from "./barrier/cookieBoard.js";
import { followDaemon, followStaging, type DaemonEvents } from "./liveEvents.js";
import { GitStore } from "./store/gitStore.js";
import { GitBoard } from "./git/gitBoard.js";
import { startGitHold, type GitHoldOptions } from "./git/gitRootHold.js";
import { UnwatchedRescans } from "./unwatchedRescans.js";
import { WatchCoverageStore } from "./store/watchCoverage.js";


/** A batch of hints this large triggers a full comparison of the root (the kernel may have dropped events). */
const LARGE_BATCH = 2000;

/** A start-up scan that failed is tried again after this long. */
const RETRY_SCAN_MS = 5000;

/** Everything the daemon needs; the CLI fills it from flags, tests directly. */
export type DaemonOptions = {
  host: string;
  port: number;
  dbPath: string;
  dirs: readonly NamedDir[];
  /** Extra gitignore-syntax patterns for every root. */
  ignore: readonly string[];
  /** `--git-tracked-only`: git alone decides the most each root syncs (every root must be in a git work tree). */
  gitTrackedOnly?: boolean;
  token: string;
  /** Full rescans at this interval to catch anything the watcher missed; 0 turns them off. */
  rescanIntervalMs: number;
  /** Rescans, at this interval, of the folders the watcher could not watch (the system's watch limit); default 30 s. */
  unwatchedRescanMs?: number;
  /** Deletions are remembered this long; a client that was away longer gets a full resync. */
  tombstoneMs: number;
  watchTiming: WatchTiming;
  /** The mass-deletion guard: `allow` records such deletions anyway; `maxShare` (0..1) of a root's files may vanish at once. */
  deleteGuard?: { allow: boolean; maxShare: number; retryMs?: number };
  /** How connections use feature `compress` (auto when not given). */
  compress?: CompressMode;
  /** Retention of the version store next to the database (defaults: 14 days, 1 GiB, files up to 1 MiB). */
  versionLimits?: Partial<VersionLimits>;
  logger: Logger;
  /** Where the daemon's events go (`--json`); nowhere unless given. */
  events?: DaemonEvents;
  /** Feature git: how long recording of a root waits for git at most (default 30 s), or off. */
  gitHold?: GitHoldOptions;
  /** Source of change hints per root; one watch per folder unless a test injects another. */
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
 * Waits until `done` holds (the server's sockets have all emitted their close, whose handlers write to the
 * database), then one more turn so those handlers have run; gives up after a few seconds rather than hang.
 */
async function drained(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setImmediate(r));
}

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
    const events = opts.events;
    const unfollow = events ? followDaemon(changeLog, activity, events) : () => undefined;
    activity.resetPresence();
    const cookies = new CookieBoard(changeLog.db);
    // Set once shutdown has begun: requests cut off by it fail quietly, and nothing is written after the close.
    let stopping = false;
    let dbOpen = true;
    const remember = (level: "warn" | "error", msg: string): void => {
      if (dbOpen) activity.event(level, msg);
    };
    // Warnings and errors also go to the database, where 'zync-daemon status' shows the latest.
    const logger: Logger = {
      ...opts.logger,
      warn: (msg) => {
        opts.logger.warn(msg);
        remember("warn", msg);
      },
      error: (msg) => {
        opts.logger.error(msg);
        remember("error", msg);
      },
    };
    const sessionLogger: Logger = {
      ...logger,
      warn: (msg) => {
        if (!stopping) logger.warn(msg);
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
    activity.clearSkipped();
    const indexers: RootIndexer[] = [];
    const fallbacks: UnwatchedRescans[] = [];
    const coverage = new WatchCoverageStore(changeLog.db);
    coverage.clear();
    const starts: Promise<void>[] = [];
    const gitStore = new GitStore(changeLog.db);
    const gitBoard = new GitBoard(gitStore);
    const rulesOf = new Map<string, { rules: ExplainedIgnoreRules; extra: string[] }>();
    const trackedOnly = opts.gitTrackedOnly === true;
    for (const dir of opts.dirs) {
      const extra = [...opts.ignore, ...ownFilePatterns(opts.dbPath, dir.abs)];
      const rules = loadIgnoreRules(dir.abs, extra, { trackedOnly, onGitProblem: (msg) => logger.warn(`${dir.name}: ${msg}`) });
      if (trackedOnly && rules.gitFiles().length === 0) throw new UsageError(`--git-tracked-only: root ${dir.name} (${dir.abs}) is not in a git work tree`);
      rulesOf.set(dir.name, { rules, extra });
      const indexer = new RootIndexer(changeLog, { name: dir.name, abs: dir.abs }, rules, (msg) => logger.warn(msg), guard, Date.now, {
        onSkip: (path, reason) => dbOpen && activity.skipped(dir.name, path, reason),
        onSkipCleared: (path) => dbOpen && activity.unskipped(dir.name, path),
        onVerified: (files) => logger.verbose(`${dir.name}: recent changes verified (${files} file(s) read again)`),
        onGapClosed: (folder, n) => logger.verbose(`${dir.name}: verifying ${folder === "" ? "the root folder" : folder} found ${n} change(s) the watcher had not reported`),
      });
      indexers.push(indexer);
      const hints = (opts.hints ?? ((d, r) => directoryHints(d.abs, r, opts.watchTiming)))(dir, rules);
      hintSources.push(hints);
      const unwatched = new UnwatchedRescans({
        root: { name: dir.name, abs: dir.abs },
        rules,
        hints,
        indexer,
        intervalMs: opts.unwatchedRescanMs ?? 30_000,
        logger,
        publish: (c) => dbOpen && coverage.set(dir.name, c),
        onCookies: (names) => onPaths(names),
      });
      fallbacks.push(unwatched);
      const rescanRoot = (why: string): void => {
        indexer.reconcile().catch((err: unknown) => logger.warn(`rescan of ${dir.name} (${why}) failed: ${String(err)}`));
      };
      // git is asked off the event loop; the old rules serve until the new ones are complete, then a rescan applies them.
      const reloadRules = (why: string): void => {
        rules
          .reload()
          .then(() => {
            if (stopping) return;
            hints.rulesChanged?.();
            rescanRoot(why);
          })
          .catch((err: unknown) => logger.warn(`reloading the ignore rules of ${dir.name} failed: ${String(err)}`));
      };
      // While git is busy in the root, hints are held and recorded as one batch when it is done (gitRootHold.ts).
      const git = startGitHold(dir, opts.gitHold, { indexer, rules, hints, gitStore, gitBoard, cookies, head: () => changeLog.head(), logger, isOpen: () => dbOpen });
      if (git !== undefined) hintSources.push({ start: () => Promise.resolve(), close: () => Promise.resolve(git.close()) });
      const onPaths = (all: string[]): void => {
        const seen = all.filter(isCookie);
        const paths = seen.length === 0 ? all : all.filter((p) => !isCookie(p));
        if (git?.offer(paths, seen) === true) return;
        if (paths.some(isIgnoreFile)) reloadRules("an ignore file changed");
        const indexed = indexer.checkPaths(paths).catch((err: unknown) => logger.warn(`indexing ${dir.name} failed: ${String(err)}`));
        // Once this batch is indexed, so is everything the watcher reported before a cookie in it.
        // Folders the watcher could not watch are rescanned first: their changes made before the cookie count too.
        if (seen.length > 0) void indexed.then(() => unwatched.catchUp()).then(() => dbOpen && seen.forEach((c) => cookies.seen(dir.name, c, changeLog.head())));
        // So much at once that the kernel's event queue may have overflowed (that loss is silent): compare all.
        if (paths.length >= LARGE_BATCH) rescanRoot("a burst of changes");
      };
      const gitFiles = rules.gitFiles();
      if (gitFiles.length > 0) {
        const stop = watchGitState(gitFiles, () => reloadRules("git's index or exclude files changed"));
        hintSources.push({ start: () => Promise.resolve(), close: () => Promise.resolve(stop()) });
      }
      const onError = (err: Error): void => {
        git?.lostHints();
        logger.warn(`watcher error in ${dir.name}: ${err.message}; rescanning`);
        rescanRoot("a watcher error");
      };
      // The watches are in place before the scan starts, so whatever changes after the scan passed a folder is
      // reported by an event, and whatever changed before is seen by the scan.
      const start = async (): Promise<void> => {
        try {
          await hints.start(onPaths, onError, unwatched.onUnwatched);
          unwatched.coveredByFirstScan();
        } catch (err) {
          logger.warn(`cannot watch ${dir.name} (${err instanceof Error ? err.message : String(err)}); only rescans will catch its changes`);
        }
        try {
          const st = await indexer.reconcile();
          logger.verbose(`${dir.name}: scanned ${st.scanned}, hashed ${st.hashed}, recorded ${st.recorded}`);
        } catch (err) {
          // Whatever the tree holds or does, the daemon comes up; the scan is tried again shortly.
          logger.warn(`scanning ${dir.name} failed: ${err instanceof Error ? err.message : String(err)}; trying again in ${RETRY_SCAN_MS / 1000} s`);
          const retry = setTimeout(() => rescanRoot("a retry"), RETRY_SCAN_MS);
          retry.unref();
        }
      };
      starts.push(start());
    }
    await Promise.all(starts);

    const roots = new Map(opts.dirs.map((d) => [d.name, new SafeRoot(d.abs)]));
    const staging = new StagingStore(changeLog.db, stagingDirFor(opts.dbPath));
    if (events) followStaging(staging, events);
    // Upstream offers are judged by the same rules as E's own files, here and again by zync-apply.
    for (const [name, r] of rulesOf) {
      staging.recordIgnoreExtras(name, r.extra);
      staging.recordTrackedOnly(name, trackedOnly);
    }
    const rules = new Map([...rulesOf].map(([name, r]) => [name, r.rules]));
    // The versions served to clients are kept as the bases of later merges, off the live path (see VersionStore).
    const versions = new VersionStore(versionDirFor(opts.dbPath), opts.versionLimits);
    // Which path each stored version was served for: a client is given a version only for its own path.
    const versionIndex = new VersionIndex(changeLog.db);
    const pruneVersions = (): void => {
      try {
        versions.prune();
        versionIndex.prune(Date.now() - versions.limits.maxAgeMs);
      } catch (err) {
        logger.warn(`pruning the version store failed: ${String(err)}`);
      }
    };
    pruneVersions();
    const versionTimer = setInterval(pruneVersions, VERSION_PRUNE_INTERVAL_MS);
    versionTimer.unref();
    const servedAt = (root: string, path: string): ServedAt => ({
      root,
      path,
      note: (r, p, hash, at) => {
        if (dbOpen) versionIndex.record(r, p, hash, at);
      },
    });
    const content = new ContentCache(undefined, undefined, undefined, (hash, bytes, root, path) =>
      versions.keepServed(hash, bytes, (err) => logger.warn(`keeping a served version failed: ${String(err)}`), servedAt(root, path)),
    );
    const server = await startServer({ host: opts.host, port: opts.port, token: opts.token }, {
      compress: opts.compress ?? "auto",
      log: changeLog,
      activity,
      staging,
      roots,
      rules,
      logger: sessionLogger,
      content,
      versions: { store: versions, index: versionIndex },
      barrier: (names) => passBarrier(cookies, opts.dirs.filter((d) => names.includes(d.name)), BARRIER_TIMEOUT_MS),
      git: gitBoard,
    });

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
        stopping = true;
        // In this order: no new hints or scans; in-flight indexing finished; connections closed and their
        // bookkeeping written; only then the database.
        clearInterval(timer);
        clearInterval(versionTimer);
        for (const ix of indexers) ix.stop();
        for (const u of fallbacks) u.stop();
        await Promise.all(hintSources.map((h) => h.close().catch(() => undefined)));
        await Promise.all(indexers.map((ix) => ix.idle()));
        await server.close();
        await drained(() => server.connections() === 0);
        logger.verbose(`served ${content.counts.served} file(s) from ${content.counts.reads} read(s) of E's disk`);
        coverage.clear();
        dbOpen = false;
        unfollow();
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

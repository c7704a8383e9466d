import { mkdir } from "node:fs/promises";
import { clearTempDir, dropTempDirIfEmpty, loadIgnoreRules, SafeRoot, type Logger, type NamedDir } from "@zync/node";
import { ErrorCode, KNOWN_FEATURES, MAX_CHANGES_PER_PAGE, type CompressMode } from "@zync/protocol";
import { ConnectionError, DaemonConnection, RemoteError, type ConnectOptions, type FirstPage } from "./daemonConnection.js";
import { BaseChangedError, fetchDelta, wantsDelta } from "./deltaFetch.js";
import { probeRoot, type RootTraits } from "./pull/rootTraits.js";
import { filesystemDurability, NO_DURABILITY } from "./pull/durability.js";
import type { BatchProgress, ContentSource, PullContext } from "./pull/pullExecutor.js";
import { emptyReport, type RunReport } from "./pull/runReport.js";
import { pullRoot, type PullPolicy } from "./pull/pullRoot.js";
import { formatBytes } from "@zync/node";
import { startProgress } from "./progress.js";
import { MAX_MERGE_ON_R_BYTES } from "./pull/mergeOnR.js";
import type { ClientStore } from "./store/clientStore.js";


/** What a sync needs besides the connection. */
export type SyncOptions = {
  dirs: readonly NamedDir[];
  ignore: readonly string[];
  preferDaemon: boolean;
  /** Merge a conflict of R's edit with E's on R when the two do not overlap (--merge; needs feature `versions`). */
  merge?: boolean;
  /** Flush written files and folders before recording them (off only with --no-fsync). */
  fsync: boolean;
  logger: Logger;
  /** Plan and report only; nothing is written, recorded or acknowledged. */
  dryRun: boolean;
  policy: PullPolicy;
  /** Show a progress line for long transfers. */
  progress: boolean;
  /** How this side uses feature `compress` (auto when not given). */
  compress?: CompressMode;
  /** Feature git: told as each batch's placement goes (the live client's `--json` events). */
  onBatch?: (progress: BatchProgress) => void;
};

/** The client names a root the daemon does not serve; retrying cannot fix it. */
export class RootsMismatchError extends Error {
  override name = "RootsMismatchError";
}

/** Prepares the local roots: creates missing ones and removes temp files an interrupted run left behind. */
export async function prepareRoots(dirs: readonly NamedDir[], logger: Logger): Promise<void> {
  for (const d of dirs) {
    await mkdir(d.abs, { recursive: true }).then((made) => made && logger.info(`created ${d.abs} for root ${d.name}`));
    await clearTempDir(d.abs);
  }
}

/** How a connection is opened beyond its address: compression, the pages asked for at once, the features offered. */
export type ConnectExtra = { compress?: CompressMode; pull?: readonly NamedDir[]; features?: readonly string[] };

/**
 * Opens a connection with this store's identity. With `pull`, the first page of each root's changes is asked for
 * during the handshake, from where the store's cursor stands (a page the pass turns out not to want is ignored).
 * It offers `features` when given, else what ZYNC_FEATURES allows, else all this build knows.
 */
export function connect(store: ClientStore, url: string, token: string, live: boolean, extra: ConnectExtra = {}): Promise<DaemonConnection> {
  const prefetch: FirstPage[] = (extra.pull ?? []).map((d) => {
    const { seq, resync } = store.cursor(d.name);
    return { root: d.name, since: resync ? 0 : seq, limit: MAX_CHANGES_PER_PAGE };
  });
  const features = extra.features === undefined ? offeredFeatures(process.env.ZYNC_FEATURES) : { features: extra.features };
  const opts: ConnectOptions = { url, token, clientId: store.clientId(), live, prefetch, ...(extra.compress === undefined ? {} : { compress: extra.compress }), ...features };
  return DaemonConnection.open(opts);
}

/**
 * The features to offer: all this build knows, or those ZYNC_FEATURES names (comma-separated; empty for none), so
 * a feature can be turned off when a problem is suspected in it.
 */
export function offeredFeatures(env: string | undefined): { features?: readonly string[] } {
  if (env === undefined) return {};
  return { features: env.split(",").map((f) => f.trim()).filter((f) => KNOWN_FEATURES.includes(f)) };
}

/**
 * How a root's filesystem treats case and modes: probed once per process and remembered for pushes and status.
 * Probing writes a file in the temp folder, so a dry run (which writes nothing) uses what was remembered.
 */
function rootTraits(store: ClientStore, dir: NamedDir, dryRun: boolean): RootTraits {
  if (dryRun) return store.traits(dir.name);
  let traits = probed.get(dir.abs);
  if (traits === undefined) {
    traits = probeRoot(dir.abs);
    probed.set(dir.abs, traits);
    store.rememberTraits(dir.name, traits);
  }
  return traits;
}

/** Roots probed by this process: a live client probes each once, not at every pass. */
const probed = new Map<string, RootTraits>();

/** File content for one root, fetched from the daemon. */
export function daemonContent(conn: DaemonConnection, root: string): ContentSource {
  return {
    fetch: (path, hash, sink, base) => (wantsDelta(conn, base) ? fetchDelta(conn, root, path, hash, base, sink) : conn.getFile(root, path, hash, sink)),
    ...(conn.features.has("versions") ? { version: (path: string, hash: string) => conn.getVersion(root, path, hash, MAX_MERGE_ON_R_BYTES) } : {}),
    classify: (err) => {
      if (err instanceof BaseChangedError) return { kind: "base-changed" };
      if (err instanceof ConnectionError) return { kind: "fatal" };
      if (err instanceof RemoteError) {
        // Gone, or a folder on the way on E is no longer one: either way a later change describes the path.
        if (err.code === ErrorCode.NotFound || err.code === ErrorCode.BadPath) return { kind: "gone" };
        if (err.code === ErrorCode.ChangedWhileReading) return { kind: "torn" };
        if (err.code === ErrorCode.Unreadable) return { kind: "skip", reason: "E may not read it" };
        return { kind: "unplaceable", reason: `E could not send it (${err.code})` };
      }
      return { kind: "fatal" };
    },
  };
}

/**
 * One pass over every root on an open connection: adopts a new daemon epoch (forcing a full comparison), pulls
 * each root until caught up, and acknowledges what was applied. The run goes into the history. An aborted
 * `signal` stops the pass before its next placement. `report` is filled as the pass goes (so a caller still
 * knows what a pass that failed had placed).
 */
export async function syncAll(conn: DaemonConnection, store: ClientStore, opts: SyncOptions, signal?: AbortSignal, report: RunReport = emptyReport()): Promise<RunReport> {
  const { welcome } = conn;
  const missing = opts.dirs.filter((d) => !welcome.roots.includes(d.name));
  if (missing.length > 0) {
    throw new RootsMismatchError(`the daemon does not serve ${missing.map((d) => d.name).join(", ")} (it serves: ${welcome.roots.join(", ") || "nothing"})`);
  }
  if (store.epoch() !== welcome.epoch && !opts.dryRun) {
    if (store.epoch() !== undefined) opts.logger.info("the daemon's database is new to this client: comparing everything (nothing R holds identically is downloaded again)");
    store.adoptEpoch(welcome.epoch);
  }
  const run = opts.dryRun ? undefined : store.startRun("pull");
  const progress = opts.progress ? startProgress(report) : undefined;
  try {
    let acked = Number.MAX_SAFE_INTEGER;
    for (const d of opts.dirs) {
      if (!opts.dryRun) store.rememberPath(d.name, d.abs);
      const ctx = pullContext(store, opts, d, daemonContent(conn, d.name), report, signal);
      // A root this store follows under another epoch (dry run before adoption) is compared whole.
      const horizon = store.epoch() === welcome.epoch ? welcome.horizon : Number.MAX_SAFE_INTEGER;
      const feed = (since: number, limit: number) => conn.request({ type: "GET_CHANGES", since, root: d.name, limit });
      acked = Math.min(acked, await pullRoot(ctx, feed, horizon, opts.policy));
      await dropTempDirIfEmpty(d.abs);
    }
    if (!opts.dryRun) await conn.request({ type: "ACK_CHANGES", seq: acked });
    if (run !== undefined) store.endRun(run, { files: report.written, deleted: report.deleted, bytes: report.bytes, conflicts: report.conflicts.length });
    return report;
  } catch (err) {
    if (run !== undefined) {
      store.endRun(run, { files: report.written, deleted: report.deleted, bytes: report.bytes, conflicts: report.conflicts.length, error: err instanceof Error ? err.message : String(err) });
    }
    throw err;
  } finally {
    progress?.stop();
  }
}

/** Everything a pull of root `d` needs, with its content from `source`. */
export function pullContext(store: ClientStore, opts: SyncOptions, d: NamedDir, source: ContentSource, report: RunReport, signal?: AbortSignal): PullContext {
  return {
    name: d.name,
    root: new SafeRoot(d.abs),
    store,
    rules: loadIgnoreRules(d.abs, opts.ignore),
    source,
    durability: opts.fsync ? filesystemDurability(d.abs) : NO_DURABILITY,
    policy: { preferDaemon: opts.preferDaemon, merge: opts.merge === true },
    mergesTried: mergesTriedBy(store),
    logger: opts.logger,
    report,
    dryRun: opts.dryRun,
    traits: rootTraits(store, d, opts.dryRun),
    ...(signal === undefined ? {} : { signal }),
    ...(opts.onBatch === undefined ? {} : { onBatch: opts.onBatch }),
  };
}

/** The merges each store's client found impossible in this process (a live client keeps them across passes). */
const mergesTried = new WeakMap<ClientStore, Map<string, string>>();

function mergesTriedBy(store: ClientStore): Map<string, string> {
  let tried = mergesTried.get(store);
  if (tried === undefined) {
    tried = new Map();
    mergesTried.set(store, tried);
  }
  return tried;
}

/** A one-line summary of a run, or undefined when nothing happened. */
export function summarize(report: RunReport): string | undefined {
  const parts: string[] = [];
  if (report.written > 0) parts.push(`${report.written} written`);
  if (report.deleted > 0) parts.push(`${report.deleted} deleted`);
  if (report.copied > 0) parts.push(`${report.copied} copied locally`);
  if (report.bytes > 0) parts.push(`${formatBytes(report.bytes)} received`);
  if (report.merged.length > 0) parts.push(`${report.merged.length} merged`);
  if (report.conflicts.length > 0) parts.push(`${report.conflicts.length} in conflict`);
  if (report.unplaced.length > 0) parts.push(`${report.unplaced.length} could not be written`);
  if (report.unsynced.length > 0) parts.push(`${report.unsynced.length} E may not read`);
  return parts.length > 0 ? `synced: ${parts.join(", ")}` : undefined;
}

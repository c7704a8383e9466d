import { existsSync } from "node:fs";
import type { CompressMode } from "@zync/protocol";
import { escapeControl, ExitCode, ExitError, lockDatabase, terminalJson, UsageError, type Logger, type NamedDir } from "@zync/node";
import type { HaltedRoot } from "@zync/protocol";
import { ConnectionError, RemoteError } from "../daemonConnection.js";
import { haltedExit, haltsOf } from "../haltNotices.js";
import { barrierSeq, runningClient, waitBesideLiveClient } from "./waitCommand.js";

/** How long a one-shot run waits for a running client to catch up unless told (`--timeout`). */
export const DEFAULT_WAIT_MS = 120_000;
import { formatBytes } from "@zync/node";
import type { RunReport } from "../pull/runReport.js";
import type { PullPolicy } from "../pull/pullRoot.js";
import { ClientStore } from "../store/clientStore.js";
import { reportRun, runLoop } from "../syncLoop.js";
import { connect, prepareRoots, RootsMismatchError, syncAll, type SyncOptions } from "../syncSession.js";
import { pushAll, previewPush } from "../upstream/pushUpstream.js";
import { jsonLineEvents, NO_EVENTS } from "../events.js";
import { clientHooks } from "../hooks/clientHooks.js";
import { recheckRoots } from "../pull/fullRecheck.js";
import type { HookRule } from "../hooks/hookRule.js";

/** Everything the sync command was asked to do. */
export type SyncRequest = {
  url: string;
  token: string;
  dbPath: string;
  dirs: NamedDir[];
  ignore: string[];
  once: boolean;
  updateUpstream: boolean;
  dryRun: boolean;
  json: boolean;
  intervalMs: number;
  preferDaemon: boolean;
  /** --merge: merge a conflict of R's edit with E's on R when they do not overlap. */
  merge?: boolean;
  fsync: boolean;
  /** How this side uses feature `compress`. */
  compress: CompressMode;
  policy: PullPolicy;
  logger: Logger;
  quiet: boolean;
  /** Show progress of long transfers (unless quiet or json); on when absent. */
  progress?: boolean;
  /** Pass a barrier on E first, so saves made there just before the run are included (`zync-client wait`). */
  barrier?: boolean;
  /** How long a one-shot run waits for a running client to catch up, in milliseconds. */
  timeoutMs?: number;
  /** `--full`: re-read every file R received and compare E's whole manifest (a one-shot pull). */
  full?: boolean;
  /** Commands to run after a pass that changed matching paths (`--on-change`). */
  onChange?: readonly HookRule[];
};

/** Maps a failure to connect or sync to the documented exit codes. */
export function asExit(err: unknown): Error {
  if (err instanceof ConnectionError) {
    const code = err.kind === "unauthorized" ? ExitCode.Unauthorized : err.kind === "protocol" ? ExitCode.Failure : ExitCode.Unreachable;
    return new ExitError(code, err.message);
  }
  if (err instanceof RootsMismatchError) return new UsageError(err.message);
  if (err instanceof RemoteError) return new ExitError(ExitCode.Failure, `the daemon refused: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

const rethrow = (err: unknown): Promise<never> => Promise.reject(asExit(err));

/** Records in the history a run that could not even connect. */
function recordFailure(store: ClientStore, kind: "pull" | "push", err: unknown): void {
  const run = store.startRun(kind);
  store.endRun(run, { files: 0, deleted: 0, bytes: 0, conflicts: 0, error: err instanceof Error ? err.message : String(err) });
}

/** Pulls (once, live, or as a dry run) or pushes upstream, as asked. Returns the exit code. */
export async function runSync(req: SyncRequest): Promise<number> {
  if (req.updateUpstream) return push(req);
  // A one-shot run beside a live client that holds the database waits for that client instead of failing.
  const holder = (req.once || req.barrier === true || req.full === true) && !req.dryRun ? runningClient(req.dbPath) : undefined;
  if (holder !== undefined && req.full === true) {
    throw new ExitError(ExitCode.Failure, `--full re-reads every file and needs ${req.dbPath} to itself, but a running client (pid ${holder}) uses it; stop that client, run --full, and start it again`);
  }
  if (holder !== undefined) {
    const wait = { url: req.url, token: req.token, dbPath: req.dbPath, dirs: req.dirs, timeoutMs: req.timeoutMs ?? DEFAULT_WAIT_MS, logger: req.logger };
    return waitBesideLiveClient(wait, holder).catch(rethrow);
  }
  // A dry run only reads, so it may run beside a live client that holds the lock.
  const unlock = req.dryRun ? () => undefined : lockDatabase(req.dbPath);
  const store = new ClientStore(req.dbPath);
  const opts: SyncOptions = {
    dirs: req.dirs,
    ignore: req.ignore,
    preferDaemon: req.preferDaemon,
    merge: req.merge === true,
    fsync: req.fsync,
    compress: req.compress,
    logger: req.logger,
    dryRun: req.dryRun,
    policy: req.policy,
    progress: showsProgress(req),
  };
  try {
    if (!req.dryRun) await prepareRoots(req.dirs, req.logger);
    const live = !(req.once || req.dryRun || req.barrier === true || req.full === true);
    const events = live && req.json ? jsonLineEvents((line) => void process.stdout.write(line)) : NO_EVENTS;
    const hooks = req.dryRun ? undefined : clientHooks(req.onChange ?? [], req.dirs, store, req.logger, events, req.json);
    if (!live) {
      // A page asked for during the handshake would be read before the barrier, so a wait asks after it instead.
      const pull = req.barrier === true ? {} : { pull: req.dirs };
      const conn = await connect(store, req.url, req.token, false, { compress: req.compress, ...pull }).catch((err: unknown) => {
        if (!req.dryRun) recordFailure(store, "pull", err);
        return rethrow(err);
      });
      // The pull that follows reads up to the head of its own moment, which is at least the barrier's.
      if (req.barrier === true) await barrierSeq(conn, req.dirs).catch((err: unknown) => {
        conn.close();
        return rethrow(err);
      });
      let report: RunReport;
      let halted: HaltedRoot[];
      let changedOnR: string[] = [];
      try {
        if (req.full === true) changedOnR = await recheckRoots(store, req.dirs, req.ignore, req.logger);
        report = await syncAll(conn, store, opts).catch(rethrow);
        halted = haltsOf(conn.halted, req.dirs);
      } finally {
        conn.close();
      }
      if (req.dryRun) return printPreview(report, req);
      // A one-shot run's hooks run once its pass is committed, and the run ends when they have.
      if (hooks !== undefined) {
        hooks.afterPass(report.changed);
        await hooks.idle();
      }
      const mine = (root: string): boolean => req.dirs.some((d) => d.name === root);
      const open = store.conflicts().filter((c) => mine(c.root));
      const unplaced = store.unplaced().filter((u) => mine(u.root));
      if (req.json) {
        const json = { written: report.written, deleted: report.deleted, copied: report.copied, bytes: report.bytes, merged: report.merged, notMerged: report.notMerged, conflicts: open.map((c) => `${c.root}/${c.path}`), unplaced: unplaced.map((u) => ({ path: `${u.root}/${u.path}`, reason: u.reason })), halted, ...(req.full === true ? { changedOnR } : {}) };
        process.stdout.write(`${terminalJson(json, 0)}\n`);
      } else {
        reportRun(report, opts, new Set());
        if (open.length === 0 && unplaced.length === 0 && halted.length === 0) req.logger.info(`up to date with ${req.url}`);
      }
      if (unplaced.length > 0) {
        const first = unplaced[0]!;
        throw new ExitError(ExitCode.Failure, `${unplaced.length} path(s) could not be written on R (first: ${first.root}/${first.path}: ${first.reason}); everything else is in step`);
      }
      const halt = haltedExit(halted, req.dirs);
      if (halt) throw halt;
      return open.length > 0 ? ExitCode.Conflicts : ExitCode.Ok;
    }
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const timing = { intervalMs: req.intervalMs, heartbeatMs: 30_000, backoffInitialMs: 500, backoffMaxMs: 30_000 };
    // A live client lets E finish recording a moved folder before the deletion guard refuses (at most 6 s more).
    const liveOpts: SyncOptions = { ...opts, policy: { ...opts.policy, guardSettle: { attempts: 3, ms: 2000 } } };
    try {
      await runLoop(store, req.url, req.token, liveOpts, timing, stop.signal, { events, hooks }).catch(rethrow);
    } finally {
      await hooks?.stop();
    }
    return ExitCode.Ok;
  } finally {
    store.close();
    unlock();
  }
}

function printPreview(report: RunReport, req: SyncRequest): number {
  if (req.json) {
    process.stdout.write(`${terminalJson({ dryRun: true, changes: report.preview }, 0)}\n`);
    return ExitCode.Ok;
  }
  for (const p of report.preview) process.stdout.write(`would ${p.action === "conflict" ? "flag as conflict" : p.action} ${escapeControl(p.path)}${p.size ? ` (${formatBytes(p.size)})` : ""}\n`);
  const count = (a: string): number => report.preview.filter((p) => p.action === a).length;
  const bytes = report.preview.filter((p) => p.action !== "delete" && p.action !== "conflict").reduce((n, p) => n + p.size, 0);
  process.stdout.write(`dry run: ${count("add")} to add, ${count("change")} to change, ${count("delete")} to delete, ${count("conflict")} in conflict, ${formatBytes(bytes)} to fetch; nothing was changed\n`);
  return ExitCode.Ok;
}

/**
 * Pushes R's changes upstream (or, with --dry-run, lists them). It only reads the client's store, so it may run
 * while a long-running client holds the store's lock.
 */
async function push(req: SyncRequest): Promise<number> {
  if (!existsSync(req.dbPath)) throw new UsageError(`no client database at ${req.dbPath}: pull from E at least once before pushing upstream (or pass --db)`);
  const store = new ClientStore(req.dbPath);
  try {
    if (req.dryRun) {
      const lines = await previewPush(store, req.dirs, req.ignore, req.policy.paths);
      if (req.json) process.stdout.write(`${terminalJson({ dryRun: true, changes: lines }, 0)}\n`);
      else {
        for (const l of lines) process.stdout.write(`would push: ${l.action} ${escapeControl(l.path)}${l.size ? ` (${formatBytes(l.size)})` : ""}${l.conflict ? " — E changed it too when R last pulled" : ""}\n`);
        process.stdout.write(`dry run: ${lines.length} change(s) would be offered to E; nothing was sent\n`);
      }
      return ExitCode.Ok;
    }
    const conn = await connect(store, req.url, req.token, false, { compress: req.compress }).catch((err: unknown) => {
      recordFailure(store, "push", err);
      return rethrow(err);
    });
    const run = store.startRun("push");
    try {
      const results = await pushAll(conn, store, req.dirs, req.ignore, req.logger, req.policy.paths, showsProgress(req)).catch(rethrow);
      const bytes = results.reduce((n, r) => n + r.bytes, 0);
      store.endRun(run, { files: results.reduce((n, r) => n + (r.fresh ? r.changes : 0), 0), deleted: 0, bytes, conflicts: results.reduce((n, r) => n + r.conflicts, 0) });
      if (req.json) process.stdout.write(`${terminalJson(results, 0)}\n`);
    } catch (err) {
      store.endRun(run, { files: 0, deleted: 0, bytes: 0, conflicts: 0, error: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      conn.close();
    }
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}

/** Whether a run shows the progress of long transfers. */
function showsProgress(req: Pick<SyncRequest, "quiet" | "json" | "progress">): boolean {
  return req.progress !== false && !req.quiet && !req.json;
}

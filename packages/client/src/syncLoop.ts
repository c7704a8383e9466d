import { ConnectionError, type DaemonConnection } from "./daemonConnection.js";
import type { RunReport } from "./pull/runReport.js";
import type { ClientStore } from "./store/clientStore.js";
import { HaltReporter } from "./haltNotices.js";
import { GitStateReporter } from "./gitStateNotices.js";
import { connect, RootsMismatchError, summarize, syncAll, type SyncOptions } from "./syncSession.js";
import { KNOWN_FEATURES } from "@zync/protocol";
import { PushedContent, type ReceivedPush } from "./pull/pushedContent.js";
import { applyPush } from "./pushPass.js";
import { NO_EVENTS, type ClientEvent, type ClientEvents } from "./events.js";
import type { HookRunner } from "./hooks/hookRunner.js";
import { emptyReport } from "./pull/runReport.js";

/** Who follows a live client's passes besides its log: tools (`--json` events) and the `--on-change` hooks. */
export type LoopObservers = { events: ClientEvents; hooks: HookRunner | undefined };

const NO_OBSERVERS: LoopObservers = { events: NO_EVENTS, hooks: undefined };

/** Timing of the long-running client. Tests pass small values instead of sleeping. */
export type LoopTiming = {
  /** Pull at least this often even without a notice from the daemon. */
  intervalMs: number;
  /** Ping the daemon this often; a ping unanswered for as long again drops the connection. */
  heartbeatMs: number;
  /** First and largest wait before reconnecting; the wait doubles in between, with jitter. */
  backoffInitialMs: number;
  backoffMaxMs: number;
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Reports a run: the summary line and each conflict the first time it is seen. */
export function reportRun(report: RunReport, opts: SyncOptions, alreadyShown: Set<string>, events: ClientEvents = NO_EVENTS): void {
  const line = summarize(report);
  if (line) opts.logger.info(line);
  for (const m of report.merged) {
    alreadyShown.delete(m);
    events({ event: "merged", path: m });
    opts.logger.info(`merged: ${m} changed on R and on E; R's file now holds both edits (push it with --update-upstream)`);
  }
  for (const n of report.notMerged) {
    const line = `not merged: ${n.path}: ${n.reason}`;
    if (alreadyShown.has(line)) continue;
    alreadyShown.add(line);
    events({ event: "not-merged", path: n.path, reason: n.reason });
    opts.logger.warn(`${line}; it stays a conflict`);
  }
  for (const c of report.conflicts) {
    if (alreadyShown.has(c)) continue;
    alreadyShown.add(c);
    events({ event: "conflict", path: c });
    opts.logger.warn(`conflict: ${c} changed on R and on E; R's version is kept (push it with --update-upstream, or rerun with --prefer-daemon to take E's and keep R's beside it)`);
  }
  for (const u of report.unsynced) {
    const line = `${u.path}: ${u.reason}`;
    if (alreadyShown.has(line)) continue;
    alreadyShown.add(line);
    opts.logger.warn(`not synced: ${line}; it follows once E can read it`);
  }
  for (const u of report.unplaced) {
    const line = `${u.path}: ${u.reason}`;
    if (alreadyShown.has(line)) continue;
    alreadyShown.add(line);
    opts.logger.warn(`not written: ${line}; the rest of the pull went on, and this path is tried again at every pull`);
  }
}

/**
 * The long-running client: keeps one connection, pulls at once when the daemon announces changes and at least
 * every interval, and reconnects with backoff whenever the daemon or the tunnel is away. Returns when `stop`
 * aborts; throws only for what retrying cannot fix (a refused token, a protocol mismatch).
 */
export async function runLoop(store: ClientStore, url: string, token: string, opts: SyncOptions, timing: LoopTiming, stop: AbortSignal, observers: LoopObservers = NO_OBSERVERS): Promise<void> {
  let delay = timing.backoffInitialMs;
  let away = false;
  const shown = new Set<string>();
  const { events } = observers;
  const halts = new HaltReporter(opts.dirs, opts.logger, events);
  const git = new GitStateReporter(store, opts.dirs, opts.logger, events);
  // Feature git: how each batch's placement goes is an event for tools.
  opts = { ...opts, onBatch: (p) => events({ event: "batch", ...p }) };
  while (!stop.aborted) {
    let conn: DaemonConnection;
    try {
      // Pushed pages are applied as whole-root pulls: not under --paths (whose cursor stays put) or a dry run.
      const features = opts.dryRun || opts.policy.paths !== undefined ? KNOWN_FEATURES.filter((f) => f !== "push") : undefined;
      conn = await connect(store, url, token, true, { ...(opts.compress === undefined ? {} : { compress: opts.compress }), pull: opts.dirs, ...(features === undefined ? {} : { features }) });
    } catch (err) {
      if (!(err instanceof ConnectionError) || (err.kind !== "unreachable" && err.kind !== "closed")) throw err;
      if (!away) {
        opts.logger.warn(`${err.message}; retrying`);
        events({ event: "disconnected", reason: err.message });
      }
      away = true;
      await sleep(delay * (0.75 + Math.random() * 0.5), stop);
      delay = Math.min(delay * 2, timing.backoffMaxMs);
      continue;
    }
    delay = timing.backoffInitialMs;
    opts.logger.info(`connected to ${url}`);
    events({ event: "connected", url });
    away = false;
    try {
      halts.update(conn.halted);
      const unlistenHalts = conn.onHalted((h) => halts.update(h));
      if (conn.gitState !== undefined) git.update(conn.gitState);
      const unlistenGit = conn.onGitState((g) => git.update(g));
      await serve(conn, store, opts, timing, stop, shown, observers).finally(() => {
        unlistenHalts();
        unlistenGit();
      });
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      if (err.kind === "unauthorized" || err.kind === "protocol") throw err;
      opts.logger.warn(`${err.message}; reconnecting`);
      events({ event: "disconnected", reason: err.message });
      away = true;
    } finally {
      conn.close();
    }
  }
}

async function serve(conn: DaemonConnection, store: ClientStore, opts: SyncOptions, timing: LoopTiming, stop: AbortSignal, shown: Set<string>, observers: LoopObservers): Promise<void> {
  const { events, hooks } = observers;
  let wanted = true;
  let wake: () => void = () => undefined;
  const poke = (): void => {
    wanted = true;
    wake();
  };
  const unlisten = conn.onChanged(poke);
  // Feature "push": pages arrive with their content; each is applied in turn unless a full pass covers it.
  const pushed = new PushedContent();
  const pushes: ReceivedPush[] = [];
  conn.onPush({
    page: (msg) => {
      const got = pushed.page(msg);
      if (typeof got === "string") return got;
      pushes.push(got);
      wake();
      return undefined;
    },
    data: (id, data) => pushed.data(id, data),
    end: (id, msg) => pushed.end(id, msg),
  });
  void conn.closed.then(() => pushed.close());
  const interval = setInterval(poke, timing.intervalMs);
  const heartbeat = setInterval(() => {
    // While frames keep arriving (a long transfer on a slow link) the connection is alive; a PONG would only
    // queue behind the data.
    if (Date.now() - conn.lastHeard < timing.heartbeatMs) return;
    const timer = setTimeout(() => {
      if (Date.now() - conn.lastHeard >= timing.heartbeatMs) conn.terminate();
    }, timing.heartbeatMs);
    conn.request({ type: "PING" }).then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }, timing.heartbeatMs);
  stop.addEventListener("abort", poke, { once: true });
  const lost = conn.closed.then((e) => Promise.reject(e));
  lost.catch(() => undefined);
  // A pass must not outlive its connection: when the connection goes, the pass is stopped and awaited, so the next
  // connection's pass never writes beside it.
  // `filling` collects what the pass placed as it goes, for the hooks of a pass that fails part way.
  const runPass = async (start: (signal: AbortSignal, filling: RunReport) => Promise<RunReport | undefined>): Promise<void> => {
    const pass = new AbortController();
    events({ event: "pass-started" });
    const filling = emptyReport();
    const running = start(pass.signal, filling);
    try {
      const report = (await Promise.race([running, lost])) ?? emptyReport();
      events(passFinished(report));
      reportRun(report, opts, shown, events);
      // Every page of the pass is committed: its hooks start now, and the next pass does not wait for them.
      hooks?.afterPass(report.changed);
    } catch (err) {
      pass.abort(err);
      await running.catch(() => undefined);
      // What a failed pass placed is on disk; its hooks run after the next pass that lands whole.
      hooks?.defer(filling.changed);
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ConnectionError) throw err;
      if (err instanceof RootsMismatchError) throw err;
      events({ event: "pass-failed", message });
      opts.logger.error(`sync failed: ${message}; trying again at the next change`);
    }
  };
  try {
    while (!stop.aborted) {
      if (wanted) {
        wanted = false;
        // Pushes received before this pass reads the changes are covered by it.
        for (const p of pushes.splice(0)) pushed.release(p);
        await runPass((signal, filling) => syncAll(conn, store, opts, signal, filling));
        continue;
      }
      const push = pushes.shift();
      if (push !== undefined) {
        await runPass(async (signal) => {
          try {
            const outcome = await applyPush(conn, store, opts, push, pushed, signal);
            if (outcome.kind === "pull") wanted = true;
            return outcome.kind === "applied" ? outcome.report : undefined;
          } finally {
            pushed.release(push);
          }
        });
        continue;
      }
      await Promise.race([new Promise<void>((r) => (wake = r)), lost]);
    }
  } finally {
    unlisten();
    clearInterval(interval);
    clearInterval(heartbeat);
    stop.removeEventListener("abort", poke);
  }
}

/** The event for a finished pass: what it applied. */
export function passFinished(report: RunReport): ClientEvent {
  return { event: "pass-finished", written: report.written, deleted: report.deleted, copied: report.copied, bytes: report.bytes, merged: report.merged.length, conflicts: report.conflicts.length, unplaced: report.unplaced.length };
}

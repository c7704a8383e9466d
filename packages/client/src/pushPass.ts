import { dropTempDirIfEmpty } from "@zync/node";
import type { DaemonConnection } from "./daemonConnection.js";
import type { ReceivedPush, PushedContent } from "./pull/pushedContent.js";
import { pullRoot, type ChangeFeed } from "./pull/pullRoot.js";
import { emptyReport, type RunReport } from "./pull/runReport.js";
import type { ClientStore } from "./store/clientStore.js";
import { daemonContent, pullContext, type SyncOptions } from "./syncSession.js";

/** What became of a push: applied; already covered by what R holds; or not continuing R's cursor (pull instead). */
export type PushOutcome = { kind: "applied"; report: RunReport } | { kind: "covered" } | { kind: "pull" };

/** What a push must continue from to be applied as it is: R's cursor for its root, under the daemon's epoch. */
export function judgePush(page: { since: number; next: number }, cursor: { seq: number; resync: boolean }, sameEpoch: boolean): PushOutcome["kind"] {
  if (!sameEpoch || cursor.resync) return "pull";
  if (page.next <= cursor.seq) return "covered";
  return page.since === cursor.seq ? "applied" : "pull";
}

/**
 * Applies one pushed page (feature "push") exactly as a pulled one: it is handed to pullRoot as the first page of
 * the root's feed, so recovery, the deletion guard, the planner's conflict rules, the journal and durability all
 * hold, and the files' content comes from the push where it arrived whole (GET_FILE otherwise). A push that does
 * not continue from R's cursor for its root is not applied: the caller pulls instead. Acknowledges what R then
 * holds in every root, without waiting for the answer.
 */
export async function applyPush(conn: DaemonConnection, store: ClientStore, opts: SyncOptions, push: ReceivedPush, pushed: PushedContent, signal: AbortSignal): Promise<PushOutcome> {
  const { page } = push;
  const dir = opts.dirs.find((d) => d.name === page.root);
  if (dir === undefined) return { kind: "covered" };
  const kind = judgePush(page, store.cursor(page.root), store.epoch() === conn.welcome.epoch);
  if (kind !== "applied") return { kind };
  const report = emptyReport();
  const run = store.startRun("pull");
  const end = (error?: Error | string): void =>
    store.endRun(run, {
      files: report.written,
      deleted: report.deleted,
      bytes: report.bytes,
      conflicts: report.conflicts.length,
      ...(error === undefined ? {} : { error: typeof error === "string" ? error : error.message }),
    });
  try {
    let served = false;
    const feed: ChangeFeed = (since, limit) => {
      if (!served && since === page.since) {
        served = true;
        return Promise.resolve({ type: "CHANGES", id: 0, changes: page.changes, next: page.next, head: page.next, more: false, ...(page.batches === undefined ? {} : { batches: page.batches }) });
      }
      return conn.request({ type: "GET_CHANGES", since, root: page.root, limit });
    };
    const ctx = pullContext(store, opts, dir, pushed.source(push, daemonContent(conn, dir.name)), report, signal);
    await pullRoot(ctx, feed, conn.welcome.horizon, opts.policy);
    await dropTempDirIfEmpty(dir.abs);
    const acked = Math.min(...opts.dirs.map((d) => store.cursor(d.name).seq));
    conn.request({ type: "ACK_CHANGES", seq: acked }).catch(() => undefined);
    end();
    return { kind: "applied", report };
  } catch (err) {
    end(err instanceof Error ? err : String(err));
    throw err;
  }
}

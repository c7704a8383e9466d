/**
 * The "synced through" barrier on R: `zync-client wait`, and `--once` while a live client runs. The daemon is
 * asked to pass a barrier (it writes a cookie in each root and waits for its own watcher to report it, so a save
 * made on E just before is recorded); the answer names the sequence number R must have applied. Then either this
 * process pulls (no live client holds the database), or it watches the running client's cursors reach it.
 */
import { ExitCode, ExitError, formatBytes, lockHolder, type Logger, type NamedDir } from "@zync/node";
import type { DaemonConnection } from "../daemonConnection.js";
import { haltedExit } from "../haltNotices.js";
import { ClientStore } from "../store/clientStore.js";
import { connect } from "../syncSession.js";

/** What a wait needs. */
export type WaitRequest = { url: string; token: string; dbPath: string; dirs: NamedDir[]; timeoutMs: number; logger: Logger };

/** How often the running client's cursors are read while waiting for them. */
const POLL_MS = 100;

/** Asks the daemon for the sequence number that "in step with E, now" means for these roots. */
export async function barrierSeq(conn: DaemonConnection, dirs: readonly NamedDir[]): Promise<{ seq: number; exit: ExitError | undefined }> {
  const passed = await conn.request({ type: "BARRIER", roots: dirs.map((d) => d.name) });
  return { seq: passed.seq, exit: haltedExit(passed.halted, dirs) };
}

/** The lowest cursor of these roots in a client database (0 for a root never pulled). */
function lowestCursor(store: ClientStore, dirs: readonly NamedDir[]): number {
  const cursors = store.cursors();
  return Math.min(...dirs.map((d) => cursors.find((c) => c.root === d.name)?.seq ?? 0));
}

/**
 * Waits until the live client holding the database (pid `holder`) has applied everything up to `seq`, then
 * reports what its passes did meanwhile. Exit code 7 when it has not within the timeout.
 */
export async function waitForRunningClient(req: WaitRequest, holder: number, seq: number, exit: ExitError | undefined): Promise<number> {
  const store = new ClientStore(req.dbPath);
  try {
    const started = Date.now();
    const deadline = started + req.timeoutMs;
    while (lowestCursor(store, req.dirs) < seq) {
      if (Date.now() > deadline) {
        throw new ExitError(ExitCode.WaitTimedOut, `the running client (pid ${holder}) has not applied E's changes up to ${seq} within ${Math.round(req.timeoutMs / 1000)} s; is it connected to E? (see zync-client log)`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const passes = store.runs(1000).filter((r) => r.kind === "pull" && r.endedAt !== undefined && r.endedAt >= started - POLL_MS);
    const files = passes.reduce((n, r) => n + r.files, 0);
    const deleted = passes.reduce((n, r) => n + r.deleted, 0);
    const bytes = passes.reduce((n, r) => n + r.bytes, 0);
    req.logger.info(`the running client (pid ${holder}) is in step with E through ${seq}: ${files} file(s) written, ${deleted} deleted, ${formatBytes(bytes)} meanwhile`);
    if (exit) throw exit;
    const mine = (root: string): boolean => req.dirs.some((d) => d.name === root);
    const open = store.conflicts().filter((c) => mine(c.root));
    if (store.unplaced().some((u) => mine(u.root))) throw new ExitError(ExitCode.Failure, "some paths could not be written on R; see zync-client status");
    return open.length > 0 ? ExitCode.Conflicts : ExitCode.Ok;
  } finally {
    store.close();
  }
}

/** `--once` or `wait` while a live client holds the database: the barrier, then its cursors. */
export async function waitBesideLiveClient(req: WaitRequest, holder: number): Promise<number> {
  const store = new ClientStore(req.dbPath);
  let conn: DaemonConnection;
  try {
    conn = await connect(store, req.url, req.token, false);
  } finally {
    store.close();
  }
  let barrier: Awaited<ReturnType<typeof barrierSeq>>;
  try {
    barrier = await barrierSeq(conn, req.dirs);
  } finally {
    conn.close();
  }
  req.logger.verbose(`a running client (pid ${holder}) holds ${req.dbPath}; waiting for it to apply E's changes up to ${barrier.seq}`);
  return waitForRunningClient(req, holder, barrier.seq, barrier.exit);
}

/** True when a live client (another process) holds the database; its pid. */
export function runningClient(dbPath: string): number | undefined {
  return lockHolder(dbPath);
}

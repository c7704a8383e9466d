/**
 * `zync-daemon wait` on E: returns once the connected clients (or the named ones) have applied every change E
 * had when it was asked, saves made just before included. It writes a barrier cookie in each served root and
 * reads, in the running daemon's database, the head at which the daemon's watcher saw it; then it watches the
 * clients' acknowledgements reach that head.
 */
import { existsSync } from "node:fs";
import { ExitCode, ExitError, lockHolder, UsageError, type Logger } from "@zync/node";
import { newCookieName, placeCookie, removeCookie, BARRIER_TIMEOUT_MS } from "../barrier/cookieBoard.js";
import { ActivityLog } from "../store/activityLog.js";
import { ChangeLog } from "../store/changeLog.js";
import { openDatabase } from "../store/database.js";

/** What to wait for. */
export type DaemonWaitRequest = { dbPath: string; clients: string[]; timeoutMs: number; logger: Logger };

const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the wait; resolves with the exit code, or throws an ExitError with its sentence. */
export async function daemonWait(req: DaemonWaitRequest): Promise<number> {
  if (!existsSync(req.dbPath)) throw new UsageError(`no daemon database at ${req.dbPath}; pass --db`);
  const pid = lockHolder(req.dbPath);
  if (pid === undefined) throw new ExitError(ExitCode.Unreachable, `no zync-daemon is running on ${req.dbPath}; start it first`);
  const db = openDatabase(req.dbPath);
  try {
    const log = new ChangeLog(db);
    const activity = new ActivityLog(db);
    const deadline = Date.now() + req.timeoutMs;
    const target = await barrier(log, Math.min(BARRIER_TIMEOUT_MS, req.timeoutMs));
    const named = req.clients.length > 0;
    const connected = activity.connectedClients();
    const waitingFor = named ? req.clients : [...connected];
    if (waitingFor.length === 0) throw new ExitError(ExitCode.Unreachable, "no client is connected to the daemon; nothing to wait for");
    for (;;) {
      const acked = new Map(log.clients().map((c) => [c.id, c.ackedSeq]));
      const now = activity.connectedClients();
      const behind = waitingFor.filter((id) => (acked.get(id) ?? 0) < target);
      if (behind.length === 0) break;
      const gone = behind.find((id) => !now.has(id));
      if (gone !== undefined) throw new ExitError(ExitCode.Unreachable, `client ${gone} is not connected to the daemon, and has not applied E's changes up to ${target}`);
      if (Date.now() > deadline) {
        throw new ExitError(ExitCode.WaitTimedOut, `client ${behind[0]} has not applied E's changes up to ${target} within ${Math.round(req.timeoutMs / 1000)} s${behind.length > 1 ? ` (nor have ${behind.length - 1} other(s))` : ""}`);
      }
      await sleep(POLL_MS);
    }
    req.logger.info(`${waitingFor.length} client(s) in step with E through ${target}`);
    const halted = activity.halted().filter((h) => log.servedRoots().some((r) => r.name === h.root));
    if (halted.length > 0) {
      const h = halted[0]!;
      throw new ExitError(ExitCode.Halted, `root ${h.root} is halted on E (${h.reason}); the clients have everything recorded before it halted`);
    }
    return ExitCode.Ok;
  } finally {
    db.close();
  }
}

/** Writes a cookie in every served root and resolves with the highest head at which the daemon saw them. */
async function barrier(log: ChangeLog, timeoutMs: number): Promise<number> {
  const roots = log.servedRoots();
  const placed = roots.map((r) => ({ ...r, cookie: newCookieName() }));
  try {
    for (const p of placed) placeCookie(p.path, p.cookie);
    const deadline = Date.now() + timeoutMs;
    let head = 0;
    for (const p of placed) {
      for (;;) {
        const seen = log.db.prepare<[string], { head: number }>("SELECT head FROM seen_cookies WHERE name = ?").get(p.cookie);
        if (seen !== undefined) {
          head = Math.max(head, seen.head);
          break;
        }
        if (Date.now() > deadline) throw new ExitError(ExitCode.Failure, `the daemon's watcher did not report the barrier file in root ${p.name} within ${Math.round(timeoutMs / 1000)} s; is the root being watched? (see zync-daemon status)`);
        await sleep(POLL_MS);
      }
    }
    return head;
  } finally {
    for (const p of placed) removeCookie(p.path, p.cookie);
  }
}

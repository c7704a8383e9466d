import type Database from "better-sqlite3";
import { sameContent, type EntryState, type SessionStatus } from "@zync/protocol";
import { REVIEW_LEASE_MS, SessionStateError } from "./sessionStates.js";
import type { PidAlive } from "./stagingStore.js";

/** How an apply came to write a path: R's version, or a merge of E's and R's. */
export type AppliedHow = "applied" | "merged";

/** Where an undo of one path stands: not begun, begun (E may be half way), or done. */
export type UndoMark = "undoing" | "undone" | null;

/** One path an apply wrote on E, as recorded for undo and history. */
export type AppliedPath = {
  sessionId: number;
  path: string;
  /** What E held at the path before the apply wrote it. */
  before: EntryState;
  /** What the apply wrote there (R's state, or the merged file). */
  applied: EntryState;
  how: AppliedHow;
  /** When the write was noted (just before E was touched). */
  notedAt: number;
  undo: UndoMark;
  undoneAt: number | null;
};

/** A session with at least one path an apply wrote, for `zync-apply history`. */
export type AppliedSession = { id: number; root: string; clientId: string; status: SessionStatus; createdAt: number; paths: AppliedPath[] };

type Row = { session_id: number; path: string; before: string; applied: string; how: AppliedHow; noted_at: number; undo: UndoMark; undone_at: number | null };
type SessionRow = { id: number; root: string; client_id: string; status: SessionStatus; created_at: number };

function pathOf(r: Row): AppliedPath {
  return {
    sessionId: r.session_id,
    path: r.path,
    before: JSON.parse(r.before) as EntryState,
    applied: JSON.parse(r.applied) as EntryState,
    how: r.how,
    notedAt: r.noted_at,
    undo: r.undo,
    undoneAt: r.undone_at,
  };
}

/**
 * True when putting `to` where `from` is goes through a moment with nothing there: a folder replaced by a file or
 * link, or the other way round (the one is removed before the other is made). Any other placement is one rename.
 */
export function placementLeavesGap(from: EntryState, to: EntryState): boolean {
  return from.kind !== "deleted" && to.kind !== "deleted" && (from.kind === "dir") !== (to.kind === "dir");
}

/**
 * Which state E held before a write now noted, given the note a killed run may have left: when E holds what that
 * run was writing (it landed, its outcome did not), or nothing where that write leaves a gap, E's state before
 * it is still the earlier note's. Otherwise it is what E holds now.
 */
export function beforeOfNote(earlier: { before: EntryState; applied: EntryState } | undefined, current: EntryState): EntryState {
  if (earlier === undefined) return current;
  if (sameContent(earlier.applied, current)) return earlier.before;
  if (current.kind === "deleted" && placementLeavesGap(earlier.before, earlier.applied)) return earlier.before;
  return current;
}

/**
 * The paths applies wrote on E, in the daemon's database (`applied_paths`): what E held before and what was
 * written, noted before E is touched (in the same transaction as the change's placement), so a killed apply
 * leaves the note too. A note counts once its change is decided applied. Undo marks each path as it goes.
 */
export class AppliedPaths {
  private static readonly byDb = new WeakMap<Database.Database, AppliedPaths>();
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly stmt;

  /** The instance for a database (statements prepared once per database). */
  static of(db: Database.Database): AppliedPaths {
    let found = AppliedPaths.byDb.get(db);
    if (found === undefined) {
      found = new AppliedPaths(db);
      AppliedPaths.byDb.set(db, found);
    }
    return found;
  }

  constructor(db: Database.Database, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
    // Only notes whose change was decided applied count; a note of a change skipped after a killed run does not.
    const counted = `SELECT a.* FROM applied_paths a JOIN upstream_changes c ON c.session_id = a.session_id AND c.path = a.path
      WHERE c.outcome = 'applied'`;
    this.stmt = {
      note: this.db.prepare<[number, string], Row>("SELECT * FROM applied_paths WHERE session_id = ? AND path = ?"),
      upsert: this.db.prepare<[number, string, string, string, AppliedHow, number]>(
        `INSERT INTO applied_paths (session_id, path, before, applied, how, noted_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (session_id, path) DO UPDATE SET before = excluded.before, applied = excluded.applied, how = excluded.how,
             noted_at = excluded.noted_at WHERE applied_paths.undo IS NULL`,
      ),
      ofSession: this.db.prepare<[number], Row>(`${counted} AND a.session_id = ? ORDER BY c.ord`),
      sessions: this.db.prepare<[], SessionRow>(
        `SELECT s.id, s.root, s.client_id, s.status, s.created_at FROM upstream_sessions s
           WHERE EXISTS (SELECT 1 FROM (${counted}) x WHERE x.session_id = s.id) ORDER BY s.id`,
      ),
      mark: this.db.prepare<[UndoMark, number | null, number, string]>("UPDATE applied_paths SET undo = ?, undone_at = ? WHERE session_id = ? AND path = ? AND undo IS NOT 'undone'"),
      lease: this.db.prepare<[number], { review_pid: number | null; review_until: number | null; status: SessionStatus }>(
        "SELECT review_pid, review_until, status FROM upstream_sessions WHERE id = ?",
      ),
      take: this.db.prepare<[number, number, number, number | null]>("UPDATE upstream_sessions SET review_pid = ?, review_until = ? WHERE id = ? AND review_pid IS ?"),
    };
  }

  /**
   * Notes, just before an apply writes `applied` at `path` over `current`, what E held there (see
   * {@link beforeOfNote}). A path already undone is never noted again.
   */
  noteWrite(sessionId: number, path: string, current: EntryState, applied: EntryState, how: AppliedHow): void {
    const earlier = this.stmt.note.get(sessionId, path);
    const before = beforeOfNote(earlier && pathOf(earlier), current);
    this.stmt.upsert.run(sessionId, path, JSON.stringify(before), JSON.stringify(applied), how, this.now());
  }

  /** The paths a session's apply wrote (decided applied), in the session's order. */
  ofSession(sessionId: number): AppliedPath[] {
    return this.stmt.ofSession.all(sessionId).map(pathOf);
  }

  /** Sessions with at least one path an apply wrote, oldest first, each with those paths. */
  sessions(): AppliedSession[] {
    return this.stmt.sessions.all().map((s) => ({ id: s.id, root: s.root, clientId: s.client_id, status: s.status, createdAt: s.created_at, paths: this.ofSession(s.id) }));
  }

  /** Notes that an undo is about to touch E at `path` (so a killed undo finishes it from there). */
  markUndoing(sessionId: number, path: string): void {
    this.stmt.mark.run("undoing", null, sessionId, path);
  }

  /** Records that `path` holds E's earlier state again. */
  markUndone(sessionId: number, path: string): void {
    this.stmt.mark.run("undone", this.now(), sessionId, path);
  }

  /**
   * Takes a session's review lease for an undo by process `pid` (whatever the session's status), so that no
   * zync-apply applies or undoes it meanwhile. A lease of a process that no longer runs, or run out, is taken
   * over; renewed and given back with StagingStore's renewReview and releaseReview.
   */
  takeUndo(id: number, pid: number, alive: PidAlive): void {
    this.db.transaction(() => {
      const row = this.stmt.lease.get(id);
      if (!row) throw new SessionStateError(`there is no session ${id}`);
      const now = this.now();
      const holder = row.review_pid;
      if (holder !== null && holder !== pid && (row.review_until ?? 0) > now && alive(holder)) {
        throw new SessionStateError(`session ${id} is being reviewed or undone by another zync-apply (pid ${holder}); try again when it is done`);
      }
      if (this.stmt.take.run(pid, now + REVIEW_LEASE_MS, id, holder).changes !== 1) throw new SessionStateError(`session ${id} changed meanwhile; try again`);
    }).immediate();
  }
}

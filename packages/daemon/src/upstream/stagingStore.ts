import { mkdirSync, rmSync } from "node:fs";
import type Database from "better-sqlite3";
import { SessionStatus, type EntryState, type UpstreamChange } from "@zync/protocol";

/** A staged session as listed. */
export type SessionSummary = {
  id: number;
  clientId: string;
  root: string;
  status: SessionStatus;
  createdAt: number;
  updatedAt: number;
  /** Changes in the session. */
  changes: number;
  /** Changes neither applied nor skipped yet. */
  pending: number;
};

/** What became of a staged change. */
export type Outcome = "pending" | "applied" | "skipped";

/** One change of a session, as staged. */
export type StagedChange = {
  path: string;
  base: EntryState | null;
  state: EntryState;
  /** True once its content (if any) is in the session's folder. */
  staged: boolean;
  outcome: Outcome;
  /** Hash of E's content this change replaced when applied, kept in the session's folder. */
  replaced: string | null;
};

type SessionRow = { id: number; key: string; client_id: string; root: string; status: SessionStatus; created_at: number; updated_at: number; changes: number; pending: number };
type ChangeRow = { path: string; base: string | null; state: string; staged: number; outcome: Outcome; replaced: string | null };

const SUMMARY = `SELECT s.*, COUNT(c.path) AS changes, SUM(c.outcome = 'pending') AS pending
  FROM upstream_sessions s LEFT JOIN upstream_changes c ON c.session_id = s.id`;

function summaryOf(r: SessionRow): SessionSummary {
  return { id: r.id, clientId: r.client_id, root: r.root, status: r.status, createdAt: r.created_at, updatedAt: r.updated_at, changes: r.changes, pending: r.pending ?? 0 };
}

/**
 * Upstream sessions staged on E, in the daemon's database, with their content in `<db>.staging/<id>/<hash>`
 * (named by content hash, so no path from the wire ever names a file here). Used by the daemon to receive
 * sessions and by zync-apply to review and apply them.
 */
export class StagingStore {
  readonly db: Database.Database;
  /** The folder that holds one subfolder of content per session. */
  readonly blobRoot: string;
  private readonly stmt;

  constructor(db: Database.Database, blobRoot: string) {
    this.db = db;
    this.blobRoot = blobRoot;
    this.stmt = {
      byKey: this.db.prepare<[string], SessionRow>(`${SUMMARY} WHERE s.key = ? GROUP BY s.id`),
      byId: this.db.prepare<[number], SessionRow>(`${SUMMARY} WHERE s.id = ? GROUP BY s.id`),
      list: this.db.prepare<[], SessionRow>(`${SUMMARY} GROUP BY s.id ORDER BY s.id`),
      insertSession: this.db.prepare(
        "INSERT INTO upstream_sessions (key, client_id, root, status, created_at, updated_at) VALUES (?, ?, ?, 'receiving', ?, ?)",
      ),
      insertChange: this.db.prepare(
        "INSERT INTO upstream_changes (session_id, ord, path, base, state, staged) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      superseded: this.db.prepare<[string, string, number], { id: number }>(
        `SELECT s.id FROM upstream_sessions s WHERE s.client_id = ? AND s.root = ? AND s.id != ?
           AND (s.status = 'receiving' OR (s.status = 'pending'
             AND NOT EXISTS (SELECT 1 FROM upstream_changes c WHERE c.session_id = s.id AND c.outcome != 'pending')))`,
      ),
      retireKey: this.db.prepare("UPDATE upstream_sessions SET key = ? WHERE id = ?"),
      setStatus: this.db.prepare("UPDATE upstream_sessions SET status = ?, updated_at = ? WHERE id = ?"),
      changes: this.db.prepare<[number], ChangeRow>("SELECT path, base, state, staged, outcome, replaced FROM upstream_changes WHERE session_id = ? ORDER BY ord"),
      stageHash: this.db.prepare("UPDATE upstream_changes SET staged = 1 WHERE session_id = ? AND json_extract(state, '$.hash') = ?"),
      decide: this.db.prepare("UPDATE upstream_changes SET outcome = ?, replaced = ?, decided_at = ? WHERE session_id = ? AND path = ?"),
    };
  }

  /** The folder holding a session's content. */
  sessionDir(id: number): string {
    return `${this.blobRoot}/${id}`;
  }

  /** Where the content with `hash` of session `id` is kept. */
  blobPath(id: number, hash: string): string {
    return `${this.sessionDir(id)}/${hash}`;
  }

  /** Where E's content that an applied change replaced is kept (never removed by zync). */
  replacedPath(id: number, hash: string): string {
    return `${this.sessionDir(id)}/replaced/${hash}`;
  }

  /**
   * Finds the session offered under `key`, or creates it. A new session from a client aborts that client's
   * older sessions for the same root that are still receiving or untouched, since the new offer contains them.
   * Returns the session and the paths whose content is still needed (one path per distinct content).
   */
  prepare(key: string, clientId: string, root: string, changes: readonly UpstreamChange[]): { session: SessionSummary; need: string[]; aborted: number[] } {
    let aborted: number[] = [];
    const id = this.db.transaction(() => {
      const existing = this.stmt.byKey.get(key);
      if (existing && existing.status !== SessionStatus.Aborted && existing.status !== SessionStatus.Rejected) return existing.id;
      // The same changes offered again after their session was given up or rejected make a new session.
      if (existing) this.stmt.retireKey.run(`${key}-${existing.id}`, existing.id);
      const now = Date.now();
      const newId = Number(this.stmt.insertSession.run(key, clientId, root, now, now).lastInsertRowid);
      changes.forEach((c, ord) => {
        this.stmt.insertChange.run(newId, ord, c.path, c.base ? JSON.stringify(c.base) : null, JSON.stringify(c.state), c.state.kind === "file" ? 0 : 1);
      });
      aborted = this.stmt.superseded.all(clientId, root, newId).map((r) => r.id);
      for (const old of aborted) this.stmt.setStatus.run(SessionStatus.Aborted, now, old);
      return newId;
    })();
    for (const old of aborted) rmSync(this.sessionDir(old), { recursive: true, force: true });
    mkdirSync(this.sessionDir(id), { recursive: true });
    const session = this.get(id)!;
    const need = new Map<string, string>();
    if (session.status === SessionStatus.Receiving) {
      for (const c of this.changes(id)) if (!c.staged && c.state.kind === "file" && !need.has(c.state.hash)) need.set(c.state.hash, c.path);
    }
    return { session, need: [...need.values()], aborted };
  }

  /** Records that content with `hash` is in the session's folder; every change with that content is staged. */
  markStaged(id: number, hash: string): void {
    this.stmt.stageHash.run(id, hash);
  }

  /** Closes a receiving session once all content is staged; throws a sentence when something is missing. */
  finalize(id: number): SessionSummary {
    const session = this.get(id);
    if (!session) throw new Error(`no upstream session ${id}`);
    if (session.status !== SessionStatus.Receiving) return session;
    const missing = this.changes(id).filter((c) => !c.staged);
    if (missing.length > 0) throw new Error(`session ${id} still lacks the content of ${missing.length} file(s), e.g. ${missing[0]!.path}`);
    this.setStatus(id, SessionStatus.Pending);
    return this.get(id)!;
  }

  get(id: number): SessionSummary | undefined {
    const row = this.stmt.byId.get(id);
    return row && summaryOf(row);
  }

  /** Sessions, oldest first. */
  list(): SessionSummary[] {
    return this.stmt.list.all().map(summaryOf);
  }

  changes(id: number): StagedChange[] {
    return this.stmt.changes.all(id).map((r) => ({
      path: r.path,
      base: r.base === null ? null : (JSON.parse(r.base) as EntryState),
      state: JSON.parse(r.state) as EntryState,
      staged: r.staged === 1,
      outcome: r.outcome,
      replaced: r.replaced,
    }));
  }

  /** Records what became of one change, and moves the session to partial or applied accordingly. */
  decide(id: number, path: string, outcome: Exclude<Outcome, "pending">, replaced: string | null = null): void {
    this.db.transaction(() => {
      this.stmt.decide.run(outcome, replaced, Date.now(), id, path);
      const s = this.get(id)!;
      this.setStatus(id, s.pending === 0 ? SessionStatus.Applied : SessionStatus.Partial);
    })();
  }

  setStatus(id: number, status: SessionStatus): void {
    this.stmt.setStatus.run(status, Date.now(), id);
  }

  /** Discards a session's remaining changes without touching E's files; its staged content is removed. */
  reject(id: number): void {
    this.setStatus(id, SessionStatus.Rejected);
    for (const c of this.changes(id)) {
      if (c.state.kind === "file") rmSync(this.blobPath(id, c.state.hash), { force: true });
    }
  }
}

import { mkdirSync, rmSync } from "node:fs";
import type Database from "better-sqlite3";
import { SessionStatus, type EntryState, type UpstreamChange } from "@zync/protocol";
import { REVIEW_LEASE_MS, REVIEWABLE, SESSION_MOVES, SessionStateError, type SessionMove } from "./sessionStates.js";

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
  /** The pid of the zync-apply reviewing it while its lease is live, else null. */
  reviewer: number | null;
};

/** What became of a staged change: `refused` means E will not hold it (a path E does not serve, or cannot name). */
export type Outcome = "pending" | "applied" | "skipped" | "refused";

/** Tells whether a process still runs (zync-apply checks its own machine's pids). */
export type PidAlive = (pid: number) => boolean;

/** One change of a session, as staged. */
export type StagedChange = {
  path: string;
  base: EntryState | null;
  state: EntryState;
  /** True once its content (if any) is in the session's folder. */
  staged: boolean;
  outcome: Outcome;
  /**
   * Hash of E's file this change overwrote or deleted, kept at {@link StagingStore.replacedPath} (noted before
   * E's file was touched, so a zync-apply killed meanwhile leaves it noted too); null when none was.
   */
  replaced: string | null;
  /**
   * What E held at the path when a zync-apply began to write this change, while it is not decided yet: a run
   * killed in the middle of a placement (a folder removed, the new entry not there yet) is finished from it.
   */
  placing: EntryState | null;
};

type SessionRow = {
  id: number;
  key: string;
  client_id: string;
  root: string;
  status: SessionStatus;
  created_at: number;
  updated_at: number;
  review_pid: number | null;
  review_until: number | null;
  changes: number;
  pending: number;
};
type ChangeRow = { path: string; base: string | null; state: string; staged: number; outcome: Outcome; replaced: string | null; placing: string | null };

const SUMMARY = `SELECT s.*, COUNT(c.path) AS changes, SUM(c.outcome = 'pending') AS pending
  FROM upstream_sessions s LEFT JOIN upstream_changes c ON c.session_id = s.id`;

function summaryOf(r: SessionRow, now: number): SessionSummary {
  const reviewer = r.review_pid !== null && (r.review_until ?? 0) > now ? r.review_pid : null;
  return { id: r.id, clientId: r.client_id, root: r.root, status: r.status, createdAt: r.created_at, updatedAt: r.updated_at, changes: r.changes, pending: r.pending ?? 0, reviewer };
}

/** `status IN (…)` for the statuses a move starts from (constants only, never input). */
function fromClause(move: SessionMove): string {
  return `status IN (${SESSION_MOVES[move].from.map((st) => `'${st}'`).join(", ")})`;
}

/** Meta key under which the daemon records the extra ignore patterns it applies to a root. */
const IGNORE_META = "ignore-extra:";
const TRACKED_ONLY_META = "git-tracked-only:";

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
  private readonly now: () => number;
  private readonly stagedListeners = new Set<(session: SessionSummary) => void>();

  constructor(db: Database.Database, blobRoot: string, now: () => number = Date.now) {
    this.db = db;
    this.blobRoot = blobRoot;
    this.now = now;
    this.stmt = {
      byKey: this.db.prepare<[string], SessionRow>(`${SUMMARY} WHERE s.key = ? GROUP BY s.id`),
      byId: this.db.prepare<[number], SessionRow>(`${SUMMARY} WHERE s.id = ? GROUP BY s.id`),
      list: this.db.prepare<[], SessionRow>(`${SUMMARY} GROUP BY s.id ORDER BY s.id`),
      owner: this.db.prepare<[number], { client_id: string; status: SessionStatus }>("SELECT client_id, status FROM upstream_sessions WHERE id = ?"),
      insertSession: this.db.prepare(
        "INSERT INTO upstream_sessions (key, client_id, root, status, created_at, updated_at) VALUES (?, ?, ?, 'receiving', ?, ?)",
      ),
      insertChange: this.db.prepare(
        "INSERT INTO upstream_changes (session_id, ord, path, base, state, staged) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      // Sessions a new offer replaces: the same client's for the root, nothing decided or begun yet (no copy of
      // E's files kept in their folder), nobody reviewing them.
      superseded: this.db.prepare<[string, string, number, number], { id: number }>(
        `SELECT s.id FROM upstream_sessions s WHERE s.client_id = ? AND s.root = ? AND s.id != ?
           AND s.${fromClause("abort")} AND (s.review_pid IS NULL OR s.review_until <= ?)
           AND NOT EXISTS (SELECT 1 FROM upstream_changes c WHERE c.session_id = s.id
             AND (c.outcome != 'pending' OR c.placing IS NOT NULL OR c.replaced IS NOT NULL))`,
      ),
      retireKey: this.db.prepare("UPDATE upstream_sessions SET key = ? WHERE id = ?"),
      abort: this.db.prepare<[number, number, number]>(
        `UPDATE upstream_sessions SET status = 'aborted', updated_at = ? WHERE id = ? AND ${fromClause("abort")}
           AND (review_pid IS NULL OR review_until <= ?)`,
      ),
      finalize: this.db.prepare<[number, number]>(`UPDATE upstream_sessions SET status = 'pending', updated_at = ? WHERE id = ? AND ${fromClause("finalize")}`),
      decideStatus: this.db.prepare<[SessionStatus, number, number, number]>(
        `UPDATE upstream_sessions SET status = ?, updated_at = ? WHERE id = ? AND ${fromClause("decide")} AND review_pid = ?`,
      ),
      reject: this.db.prepare<[number, number, number]>(
        `UPDATE upstream_sessions SET status = 'rejected', updated_at = ? WHERE id = ? AND ${fromClause("reject")} AND review_pid = ?`,
      ),
      takeReview: this.db.prepare<[number, number, number, number | null]>(
        `UPDATE upstream_sessions SET review_pid = ?, review_until = ? WHERE id = ? AND status IN (${REVIEWABLE.map((st) => `'${st}'`).join(", ")})
           AND review_pid IS ?`,
      ),
      renewReview: this.db.prepare<[number, number, number]>("UPDATE upstream_sessions SET review_until = ? WHERE id = ? AND review_pid = ?"),
      releaseReview: this.db.prepare<[number, number]>("UPDATE upstream_sessions SET review_pid = NULL, review_until = NULL WHERE id = ? AND review_pid = ?"),
      changes: this.db.prepare<[number], ChangeRow>("SELECT path, base, state, staged, outcome, replaced, placing FROM upstream_changes WHERE session_id = ? ORDER BY ord"),
      change: this.db.prepare<[number, string], ChangeRow>("SELECT path, base, state, staged, outcome, replaced, placing FROM upstream_changes WHERE session_id = ? AND path = ?"),
      stageHash: this.db.prepare<[number, string, number]>(
        `UPDATE upstream_changes SET staged = 1 WHERE session_id = ? AND json_extract(state, '$.hash') = ?
           AND (SELECT status FROM upstream_sessions WHERE id = ?) = 'receiving'`,
      ),
      // A copy noted by an earlier, interrupted run stays named.
      decide: this.db.prepare<[Outcome, string | null, number, number, string]>(
        `UPDATE upstream_changes SET outcome = ?, replaced = COALESCE(?, replaced), placing = NULL, decided_at = ?
           WHERE session_id = ? AND path = ? AND outcome = 'pending'`,
      ),
      notePlacing: this.db.prepare<[string, string | null, number, string, number]>(
        `UPDATE upstream_changes SET placing = ?, replaced = COALESCE(?, replaced) WHERE session_id = ? AND path = ? AND outcome = 'pending'
           AND EXISTS (SELECT 1 FROM upstream_sessions s WHERE s.id = upstream_changes.session_id AND s.${fromClause("decide")} AND s.review_pid = ?)`,
      ),
      getMeta: this.db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      putMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
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

  /**
   * Where E's file with `hash` is kept once an apply of session `id` overwrote or deleted it (never removed by
   * zync; one copy per content, however many paths held it).
   */
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
      const now = this.now();
      const newId = Number(this.stmt.insertSession.run(key, clientId, root, now, now).lastInsertRowid);
      changes.forEach((c, ord) => {
        this.stmt.insertChange.run(newId, ord, c.path, c.base ? JSON.stringify(c.base) : null, JSON.stringify(c.state), c.state.kind === "file" ? 0 : 1);
      });
      // Guarded again in the UPDATE itself: only sessions that really moved to aborted lose their content.
      aborted = this.stmt.superseded.all(clientId, root, newId, now).map((r) => r.id).filter((old) => this.stmt.abort.run(now, old, now).changes === 1);
      return newId;
    }).immediate();
    for (const old of aborted) rmSync(this.sessionDir(old), { recursive: true, force: true });
    mkdirSync(this.sessionDir(id), { recursive: true });
    const session = this.get(id)!;
    const need = new Map<string, string>();
    if (session.status === SessionStatus.Receiving) {
      for (const c of this.changes(id)) if (!c.staged && c.state.kind === "file" && !need.has(c.state.hash)) need.set(c.state.hash, c.path);
    }
    return { session, need: [...need.values()], aborted };
  }

  /**
   * Records that content with `hash` is in the session's folder; every change with that content is staged. Returns
   * false (nothing recorded) when the session stopped receiving meanwhile.
   */
  markStaged(id: number, hash: string): boolean {
    return this.stmt.stageHash.run(id, hash, id).changes > 0;
  }

  /**
   * Closes a receiving session once all content is staged; throws a sentence when something is missing. A session
   * past receiving is returned as it is.
   */
  finalize(id: number): SessionSummary {
    const session = this.get(id);
    if (!session) throw new SessionStateError(`no upstream session ${id}`);
    if (session.status !== SessionStatus.Receiving) return session;
    const missing = this.changes(id).filter((c) => !c.staged);
    if (missing.length > 0) throw new SessionStateError(`session ${id} still lacks the content of ${missing.length} file(s), e.g. ${missing[0]!.path}`);
    const moved = this.stmt.finalize.run(this.now(), id).changes > 0;
    // Moved by this call or by a concurrent one: either way the session is past receiving now, or it was aborted.
    const now = this.get(id)!;
    if (moved) for (const l of this.stagedListeners) l(now);
    return now;
  }

  /** Calls `listener` with every session this process finished staging (ready for review); returns the way to stop. */
  onStaged(listener: (session: SessionSummary) => void): () => void {
    this.stagedListeners.add(listener);
    return () => this.stagedListeners.delete(listener);
  }

  get(id: number): SessionSummary | undefined {
    const row = this.stmt.byId.get(id);
    return row && summaryOf(row, this.now());
  }

  /** A session's client and status, without counting its changes (cheap enough for every upload). */
  owner(id: number): { clientId: string; status: SessionStatus } | undefined {
    const row = this.stmt.owner.get(id);
    return row && { clientId: row.client_id, status: row.status };
  }

  /** Sessions, oldest first. */
  list(): SessionSummary[] {
    const now = this.now();
    return this.stmt.list.all().map((r) => summaryOf(r, now));
  }

  changes(id: number): StagedChange[] {
    return this.stmt.changes.all(id).map(changeOf);
  }

  /** One change of a session, or undefined when the session has no change at `path`. */
  change(id: number, path: string): StagedChange | undefined {
    const row = this.stmt.change.get(id, path);
    return row && changeOf(row);
  }

  /**
   * Takes the review lease of a session for process `pid`, so that no new offer aborts it and no other zync-apply
   * decides it meanwhile. A lease held by a process that no longer runs, or not renewed in time, is taken over.
   * Throws a sentence when the session cannot be reviewed (another zync-apply holds it, or it moved on).
   */
  takeReview(id: number, pid: number, alive: PidAlive): void {
    this.db.transaction(() => {
      const row = this.stmt.byId.get(id);
      if (!row) throw new SessionStateError(`there is no session ${id}`);
      const now = this.now();
      const holder = row.review_pid;
      const live = holder !== null && holder !== pid && (row.review_until ?? 0) > now && alive(holder);
      if (live) throw new SessionStateError(`session ${id} is being reviewed by another zync-apply (pid ${holder}); try again when it is done`);
      // The holder read above is named in the guard: a stale lease is replaced, a changed one is not.
      const taken = this.stmt.takeReview.run(pid, now + REVIEW_LEASE_MS, id, holder).changes;
      if (taken !== 1) throw new SessionStateError(`session ${id} is ${row.status}; it cannot be reviewed`);
    }).immediate();
  }

  /** Extends a lease this process holds; false when it was lost (taken over after it ran out). */
  renewReview(id: number, pid: number): boolean {
    return this.stmt.renewReview.run(this.now() + REVIEW_LEASE_MS, id, pid).changes === 1;
  }

  /** Gives a lease back; nothing happens when this process no longer holds it. */
  releaseReview(id: number, pid: number): void {
    this.stmt.releaseReview.run(id, pid);
  }

  /**
   * Records what became of one pending change, and moves the session to partial or applied accordingly. Only the
   * holder of the review lease (`pid`) can; throws when the change was decided already or the lease was lost.
   */
  decide(id: number, path: string, outcome: Exclude<Outcome, "pending">, pid: number, replaced: string | null = null): void {
    this.db.transaction(() => {
      const now = this.now();
      if (this.stmt.decide.run(outcome, replaced, now, id, path).changes !== 1) throw new SessionStateError(`${path} of session ${id} was already decided`);
      const s = this.get(id)!;
      const next = s.pending === 0 ? SessionStatus.Applied : SessionStatus.Partial;
      if (this.stmt.decideStatus.run(next, now, id, pid).changes !== 1) throw new SessionStateError(`session ${id} is no longer held by this review (it is ${s.status})`);
    }).immediate();
  }

  /**
   * Notes, just before zync-apply writes a pending change into E's folder, what E holds there (`before`) and the
   * hash of E's file it has kept a copy of, if any. Only the holder of the review lease (`pid`) can; throws when
   * the change was decided already or the lease was lost.
   */
  notePlacing(id: number, path: string, before: EntryState, replaced: string | null, pid: number): void {
    if (this.stmt.notePlacing.run(JSON.stringify(before), replaced, id, path, pid).changes !== 1) {
      throw new SessionStateError(`${path} of session ${id} was decided meanwhile, or the session is no longer held by this review`);
    }
  }

  /** Discards a session without touching E's files (holding its review lease); its staged content is removed. */
  reject(id: number, pid: number): void {
    const moved = this.stmt.reject.run(this.now(), id, pid).changes;
    if (moved !== 1) throw new SessionStateError(`session ${id} is ${this.get(id)?.status ?? "gone"}; there is nothing to reject`);
    for (const c of this.changes(id)) {
      if (c.state.kind === "file") rmSync(this.blobPath(id, c.state.hash), { force: true });
    }
  }

  /** Records the ignore patterns the daemon adds to a root's own (`--ignore`, its database files), for zync-apply. */
  recordIgnoreExtras(root: string, patterns: readonly string[]): void {
    this.stmt.putMeta.run(`${IGNORE_META}${root}`, JSON.stringify(patterns));
  }

  /** Records whether the daemon serves a root with --git-tracked-only, for zync-apply and check-ignore. */
  recordTrackedOnly(root: string, on: boolean): void {
    this.stmt.putMeta.run(`${TRACKED_ONLY_META}${root}`, JSON.stringify(on));
  }

  /** Whether the daemon last served a root with --git-tracked-only (false when it never said). */
  trackedOnly(root: string): boolean {
    return this.stmt.getMeta.get(`${TRACKED_ONLY_META}${root}`)?.value === "true";
  }

  /** The extra ignore patterns the daemon last recorded for a root (none when it never did). */
  ignoreExtras(root: string): string[] {
    const row = this.stmt.getMeta.get(`${IGNORE_META}${root}`);
    if (!row) return [];
    const parsed: unknown = JSON.parse(row.value);
    return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === "string") : [];
  }
}

function changeOf(r: ChangeRow): StagedChange {
  return {
    path: r.path,
    base: r.base === null ? null : (JSON.parse(r.base) as EntryState),
    state: JSON.parse(r.state) as EntryState,
    staged: r.staged === 1,
    outcome: r.outcome,
    replaced: r.replaced,
    placing: r.placing === null ? null : (JSON.parse(r.placing) as EntryState),
  };
}

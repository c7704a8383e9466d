import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Change, EntryState } from "@zync/protocol";
import type { StatKey } from "@zync/node";
import { openDatabase } from "./database.js";

/** A path as the change log records it. */
export type StoredEntry = {
  root: string;
  path: string;
  /** Sequence number of the last content change. */
  seq: number;
  state: EntryState;
  /** The stat facts seen when it was last checked; undefined for deletions. */
  key: StatKey | undefined;
};

/**
 * One write to the change log. `record` takes a new sequence number; `touch` only refreshes the stat facts;
 * `forget` drops a path that is now ignored, without telling clients it was deleted.
 */
export type LogWrite =
  | { op: "record"; root: string; path: string; state: EntryState; key: StatKey | undefined }
  | { op: "touch"; root: string; path: string; key: StatKey }
  | { op: "forget"; root: string; path: string };

/** A page of changes for GET_CHANGES. */
export type ChangePage = { changes: Change[]; next: number; head: number; more: boolean };

type Row = {
  root: string;
  path: string;
  seq: number;
  kind: EntryState["kind"];
  hash: string | null;
  size: number;
  mode: number;
  mtime_ms: number;
  ino: number;
  target: string | null;
  ctime_ms: number | null;
  key_taken_ms: number | null;
};

function stateOf(row: Row): EntryState {
  switch (row.kind) {
    case "file":
      return { kind: "file", hash: row.hash ?? "", size: row.size, mode: row.mode, mtimeMs: row.mtime_ms };
    case "dir":
      return { kind: "dir", mode: row.mode };
    case "symlink":
      return { kind: "symlink", target: row.target ?? "" };
    case "deleted":
      return { kind: "deleted" };
  }
}

/** The key's ctime and time taken as stored; NaN (a key from before ctimes were kept) is stored as unknown. */
function keyTimes(key: StatKey | undefined): { ctime_ms: number | null; key_taken_ms: number | null } {
  if (key === undefined || !Number.isFinite(key.ctimeMs)) return { ctime_ms: null, key_taken_ms: null };
  return { ctime_ms: key.ctimeMs, key_taken_ms: key.takenMs };
}

function entryOf(row: Row): StoredEntry {
  const state = stateOf(row);
  // A key stored before ctimes were kept reads as racy (ctime and time taken unknown), so the file is read once.
  const key: StatKey | undefined =
    row.kind === "deleted"
      ? undefined
      : { kind: row.kind, size: row.size, mtimeMs: row.mtime_ms, ino: row.ino, mode: row.mode, ctimeMs: row.ctime_ms ?? Number.NaN, takenMs: row.key_taken_ms ?? 0 };
  return { root: row.root, path: row.path, seq: row.seq, state, key };
}

/**
 * The daemon's durable record of every path's latest state, ordered by sequence number. Each content change takes
 * the next sequence number; GET_CHANGES reads the rows after a cursor. SQLite in WAL mode, writes in transactions.
 */
export class ChangeLog {
  readonly db: Database.Database;
  readonly epoch: string;
  private headSeq: number;
  private readonly listeners = new Set<(head: number, recorded: ReadonlyMap<string, number>) => void>();
  private readonly stmt;

  /** Opens the database at a path, or works on one already opened with {@link openDatabase}. */
  constructor(db: Database.Database | string) {
    this.db = typeof db === "string" ? openDatabase(db) : db;
    const getMeta = this.db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
    const setMeta = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    let epoch = getMeta.get("epoch")?.value;
    if (epoch === undefined) {
      epoch = randomUUID();
      setMeta.run("epoch", epoch);
    }
    this.epoch = epoch;
    this.headSeq = Number(getMeta.get("head")?.value ?? 0);
    this.stmt = {
      getMeta,
      setMeta,
      get: this.db.prepare<[string, string], Row>("SELECT * FROM entries WHERE root = ? AND path = ?"),
      ofRoot: this.db.prepare<[string], Row>("SELECT * FROM entries WHERE root = ?"),
      liveBelow: this.db.prepare<[string, string, string], Row>(
        "SELECT * FROM entries WHERE root = ? AND path > ? AND path < ? AND kind != 'deleted'",
      ),
      upsert: this.db.prepare(
        `INSERT INTO entries (root, path, seq, kind, hash, size, mode, mtime_ms, ino, target, changed_at, ctime_ms, key_taken_ms)
         VALUES (@root, @path, @seq, @kind, @hash, @size, @mode, @mtime_ms, @ino, @target, @changed_at, @ctime_ms, @key_taken_ms)
         ON CONFLICT (root, path) DO UPDATE SET seq = excluded.seq, kind = excluded.kind, hash = excluded.hash,
           size = excluded.size, mode = excluded.mode, mtime_ms = excluded.mtime_ms, ino = excluded.ino,
           target = excluded.target, changed_at = excluded.changed_at, ctime_ms = excluded.ctime_ms,
           key_taken_ms = excluded.key_taken_ms`,
      ),
      touch: this.db.prepare(
        "UPDATE entries SET size = @size, mode = @mode, mtime_ms = @mtime_ms, ino = @ino, ctime_ms = @ctime_ms, key_taken_ms = @key_taken_ms WHERE root = @root AND path = @path",
      ),
      childrenOfRoot: this.db.prepare<[string], Row>("SELECT * FROM entries WHERE root = ? AND kind != 'deleted' AND instr(path, '/') = 0"),
      // length() counts characters as substr() does (not UTF-16 units as JavaScript does).
      childrenOf: this.db.prepare<[string, string, string, string], Row>(
        "SELECT * FROM entries WHERE root = ? AND path > ? AND path < ? AND kind != 'deleted' AND instr(substr(path, length(?) + 2), '/') = 0",
      ),
      fileCount: this.db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM entries WHERE root = ? AND kind = 'file'"),
      forget: this.db.prepare("DELETE FROM entries WHERE root = ? AND path = ?"),
      since: this.db.prepare<[number, number], Row>("SELECT * FROM entries WHERE seq > ? ORDER BY seq LIMIT ?"),
      sinceInRoot: this.db.prepare<[string, number, number], Row>(
        "SELECT * FROM entries WHERE root = ? AND seq > ? ORDER BY seq LIMIT ?",
      ),
      roots: this.db.prepare<[], { name: string; path: string }>("SELECT name, path FROM roots ORDER BY name"),
      putRoot: this.db.prepare("INSERT INTO roots (name, path) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET path = excluded.path"),
      ack: this.db.prepare(
        `INSERT INTO clients (id, acked_seq, first_seen, last_seen) VALUES (@id, @seq, @now, @now)
         ON CONFLICT (id) DO UPDATE SET acked_seq = MAX(acked_seq, excluded.acked_seq), last_seen = excluded.last_seen`,
      ),
      clients: this.db.prepare<[], { id: string; acked_seq: number; first_seen: number; last_seen: number }>(
        "SELECT * FROM clients ORDER BY last_seen DESC",
      ),
      pruneSelect: this.db.prepare<[number], { m: number | null }>(
        "SELECT MAX(seq) AS m FROM entries WHERE kind = 'deleted' AND changed_at < ?",
      ),
      pruneDelete: this.db.prepare("DELETE FROM entries WHERE kind = 'deleted' AND seq <= ?"),
    };
  }

  /** The newest sequence number. */
  head(): number {
    return this.headSeq;
  }

  /** Deletions at or below this sequence have been forgotten. */
  horizon(): number {
    return Number(this.stmt.getMeta.get("horizon")?.value ?? 0);
  }

  /** Records which local folder each root name stands for, and that these are the roots served now. */
  setRoots(roots: readonly { name: string; path: string }[]): void {
    this.db.transaction(() => {
      for (const r of roots) this.stmt.putRoot.run(r.name, r.path);
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('served', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(JSON.stringify(roots.map((r) => r.name)));
    })();
  }

  /** The roots the daemon that last opened this database serves, with their folders. */
  servedRoots(): { name: string; path: string }[] {
    const served = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'served'").get();
    const names = new Set<string>(served ? (JSON.parse(served.value) as string[]) : []);
    return this.roots().filter((r) => names.has(r.name));
  }

  /** Every root this database has served, with its folder. */
  roots(): { name: string; path: string }[] {
    return this.stmt.roots.all();
  }

  /** The stored entry for one path. */
  get(root: string, path: string): StoredEntry | undefined {
    const row = this.stmt.get.get(root, path);
    return row && entryOf(row);
  }

  /** Every stored entry of a root, deletions included, by path. */
  entriesOf(root: string): Map<string, StoredEntry> {
    const map = new Map<string, StoredEntry>();
    for (const row of this.stmt.ofRoot.iterate(root)) map.set(row.path, entryOf(row));
    return map;
  }

  /** How many files of a root are recorded as present. */
  liveFileCount(root: string): number {
    return this.stmt.fileCount.get(root)?.n ?? 0;
  }

  /** Live entries strictly below a directory. */
  liveBelow(root: string, dir: string): StoredEntry[] {
    // '/' + 1 is '0': every path that starts with "dir/" sorts between "dir/" and "dir0".
    return this.stmt.liveBelow.all(root, `${dir}/`, `${dir}0`).map(entryOf);
  }

  /** Live entries directly in a folder ("" for the root folder). */
  childrenOf(root: string, dir: string): StoredEntry[] {
    const rows = dir === "" ? this.stmt.childrenOfRoot.all(root) : this.stmt.childrenOf.all(root, `${dir}/`, `${dir}0`, dir);
    return rows.map(entryOf);
  }

  /** Applies writes in one transaction; returns the new head. Listeners hear about it when anything was recorded. */
  write(writes: readonly LogWrite[]): number {
    if (writes.length === 0) return this.headSeq;
    const before = this.headSeq;
    const now = Date.now();
    const recorded = new Map<string, number>();
    this.db.transaction(() => {
      recorded.clear();
      let head = this.headSeq;
      for (const w of writes) {
        if (w.op === "forget") {
          this.stmt.forget.run(w.root, w.path);
          continue;
        }
        if (w.op === "touch") {
          this.stmt.touch.run({ root: w.root, path: w.path, size: w.key.size, mode: w.key.mode, mtime_ms: w.key.mtimeMs, ino: w.key.ino, ...keyTimes(w.key) });
          continue;
        }
        head++;
        recorded.set(w.root, (recorded.get(w.root) ?? 0) + 1);
        const s = w.state;
        this.stmt.upsert.run({
          root: w.root,
          path: w.path,
          seq: head,
          kind: s.kind,
          hash: s.kind === "file" ? s.hash : null,
          size: s.kind === "file" ? s.size : 0,
          mode: s.kind === "file" || s.kind === "dir" ? s.mode : (w.key?.mode ?? 0),
          mtime_ms: s.kind === "file" ? s.mtimeMs : (w.key?.mtimeMs ?? 0),
          ino: w.key?.ino ?? 0,
          target: s.kind === "symlink" ? s.target : null,
          changed_at: now,
          ...keyTimes(w.key),
        });
      }
      this.stmt.setMeta.run("head", String(head));
      this.headSeq = head;
    })();
    if (this.headSeq !== before) for (const l of this.listeners) l(this.headSeq, recorded);
    return this.headSeq;
  }

  /**
   * Calls `listener` with the new head, and how many changes each root got, after every transaction that recorded
   * a change. Returns the unsubscribe.
   */
  onRecorded(listener: (head: number, recorded: ReadonlyMap<string, number>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each path's latest change after `since`, in sequence order, at most `limit`; optionally for one root. */
  changesSince(since: number, limit: number, root?: string): ChangePage {
    const head = this.headSeq;
    const rows = root === undefined ? this.stmt.since.all(since, limit + 1) : this.stmt.sinceInRoot.all(root, since, limit + 1);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const changes = page.map((r) => ({ seq: r.seq, root: r.root, path: r.path, state: stateOf(r) }));
    // Without more rows, nothing in scope lies between the last row and the head, so the cursor may jump there.
    const next = more ? page[page.length - 1]!.seq : Math.max(since, head);
    return { changes, next, head, more };
  }

  /** Records that a client has durably applied everything up to `seq` (at most the head); returns what was stored. */
  ack(clientId: string, seq: number): number {
    const stored = Math.min(seq, this.headSeq);
    this.stmt.ack.run({ id: clientId, seq: stored, now: Date.now() });
    return stored;
  }

  /** Clients that have acknowledged anything, most recently seen first. */
  clients(): { id: string; ackedSeq: number; firstSeen: number; lastSeen: number }[] {
    return this.stmt.clients.all().map((c) => ({ id: c.id, ackedSeq: c.acked_seq, firstSeen: c.first_seen, lastSeen: c.last_seen }));
  }

  /** Closes the underlying database. */
  close(): void {
    this.db.close();
  }

  /** Forgets deletions recorded before `before` (ms since epoch) and raises the horizon past them. */
  pruneDeletions(before: number): number {
    const max = this.stmt.pruneSelect.get(before)?.m;
    if (max === null || max === undefined) return 0;
    let removed = 0;
    this.db.transaction(() => {
      removed = this.stmt.pruneDelete.run(max).changes;
      this.stmt.setMeta.run("horizon", String(Math.max(max, this.horizon())));
    })();
    return removed;
  }

}

import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import type { EntryState } from "@zync/protocol";
import type { StatKey } from "@zync/node";

/**
 * What R last received for a path (its base): the state E sent, and the local stat facts right after it was
 * written, so an unchanged file is recognised without reading it again.
 */
export type BaseEntry = { root: string; path: string; state: EntryState; key: StatKey | undefined };

/** A path that changed on R and on E; R's content stays until the conflict is resolved. */
export type Conflict = { root: string; path: string; seq: number; remote: EntryState; detectedAt: number };

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  -- Per root: everything up to seq is durably applied. resync = 1 while a full comparison is under way.
  CREATE TABLE cursors (root TEXT PRIMARY KEY, seq INTEGER NOT NULL, resync INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE base (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL,
    hash TEXT,
    key TEXT,
    PRIMARY KEY (root, path)
  ) WITHOUT ROWID;
  CREATE INDEX base_by_hash ON base (hash) WHERE hash IS NOT NULL;
  CREATE TABLE conflicts (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    remote TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    PRIMARY KEY (root, path)
  ) WITHOUT ROWID;
  `,
];

type BaseRow = { root: string; path: string; state: string; key: string | null };
type ConflictRow = { root: string; path: string; seq: number; remote: string; detected_at: number };

function baseOf(row: BaseRow): BaseEntry {
  return { root: row.root, path: row.path, state: JSON.parse(row.state) as EntryState, key: row.key === null ? undefined : (JSON.parse(row.key) as StatKey) };
}

/** The client's SQLite state: its id, the daemon epoch it follows, per-root cursors, bases and conflicts. */
export class ClientStore {
  readonly db: Database.Database;
  private readonly stmt;

  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new Error(`${dbPath} was written by a newer zync-client`);
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
    this.stmt = {
      getMeta: this.db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      setMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      getCursor: this.db.prepare<[string], { seq: number; resync: number }>("SELECT seq, resync FROM cursors WHERE root = ?"),
      setCursor: this.db.prepare(
        "INSERT INTO cursors (root, seq, resync) VALUES (?, ?, ?) ON CONFLICT (root) DO UPDATE SET seq = excluded.seq, resync = excluded.resync",
      ),
      resetCursors: this.db.prepare("UPDATE cursors SET seq = 0, resync = 1"),
      getBase: this.db.prepare<[string, string], BaseRow>("SELECT root, path, state, key FROM base WHERE root = ? AND path = ?"),
      basesOf: this.db.prepare<[string], BaseRow>("SELECT root, path, state, key FROM base WHERE root = ?"),
      byHash: this.db.prepare<[string, string], BaseRow>("SELECT root, path, state, key FROM base WHERE root = ? AND hash = ? LIMIT 4"),
      putBase: this.db.prepare(
        "INSERT INTO base (root, path, state, hash, key) VALUES (?, ?, ?, ?, ?) ON CONFLICT (root, path) DO UPDATE SET state = excluded.state, hash = excluded.hash, key = excluded.key",
      ),
      dropBase: this.db.prepare("DELETE FROM base WHERE root = ? AND path = ?"),
      conflicts: this.db.prepare<[], ConflictRow>("SELECT * FROM conflicts ORDER BY root, path"),
      conflictsOf: this.db.prepare<[string], ConflictRow>("SELECT * FROM conflicts WHERE root = ? ORDER BY path"),
      putConflict: this.db.prepare(
        `INSERT INTO conflicts (root, path, seq, remote, detected_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (root, path) DO UPDATE SET seq = excluded.seq, remote = excluded.remote`,
      ),
      dropConflict: this.db.prepare("DELETE FROM conflicts WHERE root = ? AND path = ?"),
    };
  }

  /** This client's stable id, created on first use. */
  clientId(): string {
    let id = this.stmt.getMeta.get("client_id")?.value;
    if (id === undefined) {
      id = randomUUID();
      this.stmt.setMeta.run("client_id", id);
    }
    return id;
  }

  /** The daemon epoch this store's cursors refer to. */
  epoch(): string | undefined {
    return this.stmt.getMeta.get("epoch")?.value;
  }

  /** Adopts a new daemon epoch: every cursor goes back to 0 and every root needs a full comparison. */
  adoptEpoch(epoch: string): void {
    this.db.transaction(() => {
      this.stmt.setMeta.run("epoch", epoch);
      this.stmt.resetCursors.run();
    })();
  }

  /** A root's cursor; a root seen for the first time starts at 0 with a full comparison. */
  cursor(root: string): { seq: number; resync: boolean } {
    const row = this.stmt.getCursor.get(root);
    return row === undefined ? { seq: 0, resync: true } : { seq: row.seq, resync: row.resync === 1 };
  }

  /** Marks a root as needing a full comparison from sequence 0. */
  requireResync(root: string): void {
    this.stmt.setCursor.run(root, 0, 1);
  }

  base(root: string, path: string): BaseEntry | undefined {
    const row = this.stmt.getBase.get(root, path);
    return row && baseOf(row);
  }

  bases(root: string): BaseEntry[] {
    return this.stmt.basesOf.all(root).map(baseOf);
  }

  /** Bases of files in `root` with this content hash (candidates to copy from instead of downloading). */
  basesWithHash(root: string, hash: string): BaseEntry[] {
    return this.stmt.byHash.all(root, hash).map(baseOf);
  }

  conflicts(root?: string): Conflict[] {
    const rows = root === undefined ? this.stmt.conflicts.all() : this.stmt.conflictsOf.all(root);
    return rows.map((r) => ({ root: r.root, path: r.path, seq: r.seq, remote: JSON.parse(r.remote) as EntryState, detectedAt: r.detected_at }));
  }

  /** Writes the outcome of one page in one transaction: bases, conflicts and the new cursor together. */
  commit(root: string, outcome: PageOutcome, cursor?: { seq: number; resync: boolean }): void {
    this.db.transaction(() => {
      for (const b of outcome.bases) {
        if (b.state.kind === "deleted") this.stmt.dropBase.run(root, b.path);
        else this.stmt.putBase.run(root, b.path, JSON.stringify(b.state), b.state.kind === "file" ? b.state.hash : null, b.key ? JSON.stringify(b.key) : null);
      }
      for (const c of outcome.conflicts) this.stmt.putConflict.run(root, c.path, c.seq, JSON.stringify(c.remote), c.detectedAt);
      for (const p of outcome.resolved) this.stmt.dropConflict.run(root, p);
      if (cursor !== undefined) this.stmt.setCursor.run(root, cursor.seq, cursor.resync ? 1 : 0);
    })();
  }

  close(): void {
    this.db.close();
  }
}

/** What applying a page changed in the store. A base of kind "deleted" removes the path's base. */
export type PageOutcome = {
  bases: { path: string; state: EntryState; key: StatKey | undefined }[];
  conflicts: Omit<Conflict, "root">[];
  resolved: string[];
};

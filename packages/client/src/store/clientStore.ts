import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { GitStateSchema, type EntryState, type GitRootState } from "@zync/protocol";
import type { StatKey } from "@zync/node";
import { openSqlite } from "@zync/node";
import { POSIX_TRAITS, type RootTraits } from "../pull/rootTraits.js";

/**
 * What R last received for a path (its base): the state E sent, and the local stat facts right after it was
 * written, so an unchanged file is recognised without reading it again.
 */
export type BaseEntry = { root: string; path: string; state: EntryState; key: StatKey | undefined };

/** A path E changed that R could not place; tried again on every pull. */
export type Unplaced = { root: string; path: string; seq: number; remote: EntryState; reason: string; at: number };

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
  `
  ALTER TABLE cursors ADD COLUMN path TEXT;
  -- History: one row per pull or push, shown by 'zync-client log'.
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    files INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  `,
  `
  -- What a run is about to place on disk, written (durably) before the first rename of a page and cleared with
  -- the page's commit. A run killed in between leaves rows here; the next run adopts as base each one whose
  -- content R holds, so files the killed run placed are recognised as E's.
  CREATE TABLE placing (root TEXT NOT NULL, path TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (root, path)) WITHOUT ROWID;
  -- Paths E changed that R could not place (a full disk, a name R cannot hold): retried on every pull.
  CREATE TABLE unplaced (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    remote TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (root, path)
  ) WITHOUT ROWID;
  `,
  `
  -- What a history row was about beyond its kind: for a hook run, the rule and the root.
  ALTER TABLE runs ADD COLUMN detail TEXT;
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
    this.db = openSqlite(() => new Database(dbPath));
    this.db.pragma("journal_mode = WAL");
    // FULL: a committed page (bases, cursor) survives a power cut, so it never claims less than is on disk.
    this.db.pragma("synchronous = FULL");
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
      anyBase: this.db.prepare<[string], { one: number }>("SELECT 1 AS one FROM base WHERE root = ? LIMIT 1"),
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
      cursors: this.db.prepare<[], { root: string; seq: number; resync: number; path: string | null }>("SELECT root, seq, resync, path FROM cursors ORDER BY root"),
      setPath: this.db.prepare("INSERT INTO cursors (root, seq, resync, path) VALUES (?, 0, 1, ?) ON CONFLICT (root) DO UPDATE SET path = excluded.path"),
      startRun: this.db.prepare("INSERT INTO runs (kind, started_at) VALUES (?, ?)"),
      endRun: this.db.prepare("UPDATE runs SET ended_at = @ended, files = @files, deleted = @deleted, bytes = @bytes, conflicts = @conflicts, error = @error WHERE id = @id"),
      forgetKey: this.db.prepare("UPDATE base SET key = NULL WHERE root = ? AND path = ?"),
      requestResync: this.db.prepare("INSERT INTO cursors (root, seq, resync) VALUES (?, 0, 1) ON CONFLICT (root) DO UPDATE SET resync = 1"),
      hookRun: this.db.prepare("INSERT INTO runs (kind, started_at, ended_at, files, error, detail) VALUES ('hook', @started, @ended, @files, @error, @detail)"),
      runs: this.db.prepare<[number], RunRow>("SELECT * FROM runs ORDER BY id DESC LIMIT ?"),
      lastGoodRun: this.db.prepare<[], RunRow>("SELECT * FROM runs WHERE ended_at IS NOT NULL AND error IS NULL AND kind = 'pull' ORDER BY id DESC LIMIT 1"),
      pruneRuns: this.db.prepare("DELETE FROM runs WHERE id <= (SELECT MAX(id) FROM runs) - 1000"),
      putPlacing: this.db.prepare("INSERT INTO placing (root, path, state) VALUES (?, ?, ?) ON CONFLICT (root, path) DO UPDATE SET state = excluded.state"),
      placingOf: this.db.prepare<[string], { path: string; state: string }>("SELECT path, state FROM placing WHERE root = ?"),
      clearPlacing: this.db.prepare("DELETE FROM placing WHERE root = ?"),
      unplacedOf: this.db.prepare<[string], { root: string; path: string; seq: number; remote: string; reason: string; at: number }>("SELECT * FROM unplaced WHERE root = ? ORDER BY path"),
      allUnplaced: this.db.prepare<[], { root: string; path: string; seq: number; remote: string; reason: string; at: number }>("SELECT * FROM unplaced ORDER BY root, path"),
      putUnplaced: this.db.prepare(
        "INSERT INTO unplaced (root, path, seq, remote, reason, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (root, path) DO UPDATE SET seq = excluded.seq, remote = excluded.remote, reason = excluded.reason, at = excluded.at",
      ),
      dropUnplaced: this.db.prepare("DELETE FROM unplaced WHERE root = ? AND path = ?"),
      refreshKey: this.db.prepare("UPDATE base SET key = ? WHERE root = ? AND path = ? AND hash = ?"),
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

  base(root: string, path: string): BaseEntry | undefined {
    const row = this.stmt.getBase.get(root, path);
    return row && baseOf(row);
  }

  /** True when R has received anything of `root` (a base is recorded for at least one path). */
  holdsAny(root: string): boolean {
    return this.stmt.anyBase.get(root) !== undefined;
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

  /**
   * Stores fresh stat keys for files found, by reading them, to still hold their base content, so the next scan
   * need not read them again. A base that changed meanwhile (a pull replaced it) is left as it is.
   */
  refreshKeys(root: string, files: readonly { path: string; hash: string; key: StatKey }[]): void {
    if (files.length === 0) return;
    this.db.transaction(() => {
      for (const f of files) this.stmt.refreshKey.run(JSON.stringify(f.key), root, f.path, f.hash);
    })();
  }

  /** Records, durably and before any of them is renamed into place, what a page is about to place. */
  notePlacing(root: string, placements: readonly { path: string; state: EntryState }[]): void {
    if (placements.length === 0) return;
    this.db.transaction(() => {
      for (const p of placements) this.stmt.putPlacing.run(root, p.path, JSON.stringify(p.state));
    })();
  }

  /** What an interrupted run was placing in `root` when it stopped. */
  placing(root: string): { path: string; state: EntryState }[] {
    return this.stmt.placingOf.all(root).map((r) => ({ path: r.path, state: JSON.parse(r.state) as EntryState }));
  }

  /** Paths R could not place, for one root or all. */
  unplaced(root?: string): Unplaced[] {
    const rows = root === undefined ? this.stmt.allUnplaced.all() : this.stmt.unplacedOf.all(root);
    return rows.map((r) => ({ root: r.root, path: r.path, seq: r.seq, remote: JSON.parse(r.remote) as EntryState, reason: r.reason, at: r.at }));
  }

  /**
   * Writes the outcome of one page in one transaction: bases, conflicts, unplaced paths and the new cursor
   * together, and clears the root's placing journal (everything in it is now recorded one way or another).
   */
  commit(root: string, outcome: PageOutcome, cursor?: { seq: number; resync: boolean }): void {
    this.db.transaction(() => {
      this.stmt.clearPlacing.run(root);
      for (const u of outcome.unplaced) {
        this.stmt.putUnplaced.run(root, u.path, u.seq, JSON.stringify(u.remote), u.reason, u.at);
        this.stmt.dropConflict.run(root, u.path);
      }
      for (const b of outcome.bases) {
        if (b.state.kind === "deleted") this.stmt.dropBase.run(root, b.path);
        else this.stmt.putBase.run(root, b.path, JSON.stringify(b.state), b.state.kind === "file" ? b.state.hash : null, b.key ? JSON.stringify(b.key) : null);
      }
      for (const c of outcome.conflicts) {
        this.stmt.putConflict.run(root, c.path, c.seq, JSON.stringify(c.remote), c.detectedAt);
        this.stmt.dropUnplaced.run(root, c.path);
      }
      for (const p of outcome.resolved) {
        this.stmt.dropConflict.run(root, p);
        this.stmt.dropUnplaced.run(root, p);
      }
      if (cursor !== undefined) this.stmt.setCursor.run(root, cursor.seq, cursor.resync ? 1 : 0);
    })();
  }

  /** Every root's cursor, with the local folder it was last synced into. */
  cursors(): { root: string; seq: number; resync: boolean; path: string | undefined }[] {
    return this.stmt.cursors.all().map((c) => ({ root: c.root, seq: c.seq, resync: c.resync === 1, path: c.path ?? undefined }));
  }

  /** How a root's filesystem treats case and modes, as last probed (a POSIX filesystem until then). */
  traits(root: string): RootTraits {
    const raw = this.stmt.getMeta.get(`traits:${root}`)?.value;
    return raw === undefined ? POSIX_TRAITS : { ...POSIX_TRAITS, ...(JSON.parse(raw) as Partial<RootTraits>) };
  }

  rememberTraits(root: string, traits: RootTraits): void {
    this.stmt.setMeta.run(`traits:${root}`, JSON.stringify(traits));
  }

  /**
   * Feature git: remembers E's git state of the roots as the live client last heard it (GIT_STATE), with when, for
   * `zync-client status` in another process. Validated again when read: the database is only a cache of the wire.
   */
  rememberGitState(roots: readonly GitRootState[], heardAt: number = Date.now()): void {
    this.stmt.setMeta.run("git-state", JSON.stringify({ heardAt, roots }));
  }

  /** E's git state as the live client last heard it, or undefined when it never did. */
  gitState(): { heardAt: number; roots: GitRootState[] } | undefined {
    const raw = this.stmt.getMeta.get("git-state")?.value;
    if (raw === undefined) return undefined;
    try {
      const parsed = JSON.parse(raw) as { heardAt?: unknown; roots?: unknown };
      const roots = GitStateSchema.shape.roots.safeParse(parsed.roots);
      if (typeof parsed.heardAt !== "number" || !roots.success) return undefined;
      return { heardAt: parsed.heardAt, roots: roots.data };
    } catch {
      return undefined;
    }
  }

  /** Remembers which local folder a root is synced into (for status). */
  rememberPath(root: string, path: string): void {
    this.stmt.setPath.run(root, path);
  }

  /** Records the start of a run and returns its id. Only the newest 1000 runs are kept. */
  startRun(kind: Run["kind"]): number {
    this.stmt.pruneRuns.run();
    return Number(this.stmt.startRun.run(kind, Date.now()).lastInsertRowid);
  }

  /** Records how a run ended. */
  endRun(id: number, r: { files: number; deleted: number; bytes: number; conflicts: number; error?: string }): void {
    this.stmt.endRun.run({ id, ended: Date.now(), files: r.files, deleted: r.deleted, bytes: r.bytes, conflicts: r.conflicts, error: r.error ?? null });
  }

  /**
   * Forgets the stat keys of these paths' bases (the bases stay), so no look at their stat takes them for
   * unchanged: the next pull or push reads them. The placing journal is left alone.
   */
  forgetKeys(root: string, paths: readonly string[]): void {
    this.db.transaction(() => {
      for (const p of paths) this.stmt.forgetKey.run(root, p);
    })();
  }

  /** The next pull of this root compares E's whole manifest (from 0); its cursor stays until that pull ends. */
  requestResync(root: string): void {
    this.stmt.requestResync.run(root);
  }

  /** Records a finished hook run: its rule and root, how many changed files it was given, and its failure if any. */
  recordHook(r: { startedAt: number; endedAt: number; files: number; detail: string; error: string | undefined }): void {
    this.stmt.pruneRuns.run();
    this.stmt.hookRun.run({ started: r.startedAt, ended: r.endedAt, files: r.files, error: r.error ?? null, detail: r.detail });
  }

  /** The newest runs first. */
  runs(limit: number): Run[] {
    return this.stmt.runs.all(limit).map(runOf);
  }

  /** The newest pull that ended without an error. */
  lastGoodPull(): Run | undefined {
    const row = this.stmt.lastGoodRun.get();
    return row && runOf(row);
  }

  close(): void {
    this.db.close();
  }
}

/** One pull, push or hook run, as the history keeps it. */
export type Run = {
  id: number;
  kind: "pull" | "push" | "hook";
  startedAt: number;
  endedAt: number | undefined;
  files: number;
  deleted: number;
  bytes: number;
  conflicts: number;
  error: string | undefined;
  /** For a hook run: the rule and the root it ran in. */
  detail: string | undefined;
};

type RunRow = { id: number; kind: Run["kind"]; started_at: number; ended_at: number | null; files: number; deleted: number; bytes: number; conflicts: number; error: string | null; detail: string | null };

function runOf(r: RunRow): Run {
  return { id: r.id, kind: r.kind, startedAt: r.started_at, endedAt: r.ended_at ?? undefined, files: r.files, deleted: r.deleted, bytes: r.bytes, conflicts: r.conflicts, error: r.error ?? undefined, detail: r.detail ?? undefined };
}

/**
 * What applying a page changed in the store. A base of kind "deleted" removes the path's base. `resolved` paths
 * leave the conflict and unplaced lists; a path in `conflicts` or `unplaced` is (again) one of them.
 */
export type PageOutcome = {
  bases: { path: string; state: EntryState; key: StatKey | undefined }[];
  conflicts: Omit<Conflict, "root">[];
  unplaced: Omit<Unplaced, "root">[];
  resolved: string[];
};

/** An outcome that changes nothing. */
export function emptyOutcome(): PageOutcome {
  return { bases: [], conflicts: [], unplaced: [], resolved: [] };
}

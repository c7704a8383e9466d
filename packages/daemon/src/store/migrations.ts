import type Database from "better-sqlite3";

/** Schema steps, applied in order; `PRAGMA user_version` records how many have run. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE roots (name TEXT PRIMARY KEY, path TEXT NOT NULL);
  -- The latest state of every path ever seen, one row per path. A deletion is a row of kind 'deleted'.
  CREATE TABLE entries (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink', 'deleted')),
    hash TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    mode INTEGER NOT NULL DEFAULT 0,
    mtime_ms INTEGER NOT NULL DEFAULT 0,
    ino INTEGER NOT NULL DEFAULT 0,
    target TEXT,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (root, path)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX entries_by_seq ON entries (seq);
  CREATE INDEX entries_by_root_seq ON entries (root, seq);
  CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  );
  `,
  `
  -- Upstream sessions: what R offered, staged on E for review. Content lives in <db>.staging/<id>/<hash>.
  CREATE TABLE upstream_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    root TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE upstream_changes (
    session_id INTEGER NOT NULL REFERENCES upstream_sessions (id),
    ord INTEGER NOT NULL,
    path TEXT NOT NULL,
    base TEXT,
    state TEXT NOT NULL,
    -- 1 once the content is staged (or none is needed).
    staged INTEGER NOT NULL,
    -- pending, applied or skipped.
    outcome TEXT NOT NULL DEFAULT 'pending',
    -- hash of E's content that an applied change replaced; that content is kept in the session's folder.
    replaced TEXT,
    decided_at INTEGER,
    PRIMARY KEY (session_id, path)
  ) WITHOUT ROWID;
  `,
  `
  -- What the daemon did, for 'zync-daemon status' and 'zync-daemon log' (run while it runs).
  ALTER TABLE clients ADD COLUMN connected INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE serve_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT,
    address TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    changes INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
  CREATE TABLE halted_roots (root TEXT PRIMARY KEY, since INTEGER NOT NULL, reason TEXT NOT NULL);
  `,
  `
  -- The rest of each entry's stat key: the inode change time and when the key was taken. A key whose file
  -- changed within the timestamp granularity of that moment is racy, and the file is read again.
  ALTER TABLE entries ADD COLUMN ctime_ms REAL;
  ALTER TABLE entries ADD COLUMN key_taken_ms INTEGER;
  `,
  `
  -- Paths the daemon leaves out for now (unreadable, FIFOs, sockets, devices, names that cannot be sent), for
  -- 'zync-daemon status'. Rebuilt by each run of the daemon as its scans find them.
  CREATE TABLE IF NOT EXISTS skipped_paths (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (root, path)
  ) WITHOUT ROWID;
  `,
  `
  -- A session under review: the pid of the zync-apply holding it and until when its lease runs (renewed while
  -- it runs). No new offer aborts a session whose lease is live.
  ALTER TABLE upstream_sessions ADD COLUMN review_pid INTEGER;
  ALTER TABLE upstream_sessions ADD COLUMN review_until INTEGER;
  `,
  `
  -- E's state at a change's path when zync-apply began to write it (JSON), noted just before the write and
  -- cleared when the change is decided: a zync-apply killed in between is finished by the next one from it.
  ALTER TABLE upstream_changes ADD COLUMN placing TEXT;
  `,
  `
  -- Barrier cookies the watcher has seen, with the head once everything before them was recorded: a
  -- \`zync-daemon wait\` in another process reads its cookie's row here.
  CREATE TABLE seen_cookies (name TEXT PRIMARY KEY, root TEXT NOT NULL, head INTEGER NOT NULL, at INTEGER NOT NULL);
  `,
  `
  -- Which path of which root each stored version was served for, and when last: GET_VERSION (feature
  -- 'versions') serves a stored version only for a path it belongs to (or that an apply replaced it at).
  CREATE TABLE version_paths (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (root, path, hash)
  ) WITHOUT ROWID;
  `,
  `
  -- Every path an apply wrote on E: what E held before (JSON state) and what the apply wrote there, noted with
  -- the change's placement (before E is touched), for 'zync-apply undo' and 'history'. It counts once the change
  -- is decided applied. \`undo\` is null, 'undoing' (noted just before undo touches E) or 'undone'.
  CREATE TABLE applied_paths (
    session_id INTEGER NOT NULL REFERENCES upstream_sessions (id),
    path TEXT NOT NULL,
    before TEXT NOT NULL,
    applied TEXT NOT NULL,
    how TEXT NOT NULL CHECK (how IN ('applied', 'merged')),
    noted_at INTEGER NOT NULL,
    undo TEXT CHECK (undo IN ('undoing', 'undone')),
    undone_at INTEGER,
    PRIMARY KEY (session_id, path)
  ) WITHOUT ROWID;
  `,
  `
  -- Feature git: the changes git made in one operation, recorded in one transaction (the root's changes with a
  -- seq from first_seq to last_seq), and each root's git state (branch, commit, whether recording waits for git).
  CREATE TABLE git_batches (root TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (root, first_seq)) WITHOUT ROWID;
  CREATE TABLE git_state (
    root TEXT PRIMARY KEY,
    branch TEXT,
    commit_id TEXT,
    waiting_since INTEGER,
    waiting_reason TEXT,
    updated_at INTEGER NOT NULL
  );
  `,
];

/** Brings the database schema up to date inside one transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the database was written by a newer zync (schema ${current}; this build knows ${MIGRATIONS.length})`);
  }
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

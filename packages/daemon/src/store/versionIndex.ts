import type Database from "better-sqlite3";

/**
 * Which versions of which path E's version store may give out (feature "versions"): a version belongs to a
 * root's path when the daemon served it for that path, or when an apply replaced it there (recorded by the
 * upstream session). The store itself is addressed by hash alone, so without this index a client could read any
 * stored content, of any path or root, by its hash.
 */
export class VersionIndex {
  private readonly stmt: {
    record: Database.Statement<[string, string, string, number]>;
    served: Database.Statement<[string, string, string], { one: number }>;
    replaced: Database.Statement<[string, string, string], { one: number }>;
    prune: Database.Statement<[number]>;
  };

  constructor(db: Database.Database) {
    this.stmt = {
      record: db.prepare("INSERT INTO version_paths (root, path, hash, at) VALUES (?, ?, ?, ?) ON CONFLICT (root, path, hash) DO UPDATE SET at = excluded.at"),
      served: db.prepare("SELECT 1 AS one FROM version_paths WHERE root = ? AND path = ? AND hash = ?"),
      replaced: db.prepare(
        `SELECT 1 AS one FROM upstream_changes c JOIN upstream_sessions s ON s.id = c.session_id
         WHERE s.root = ? AND c.path = ? AND c.replaced = ? LIMIT 1`,
      ),
      prune: db.prepare("DELETE FROM version_paths WHERE at < ?"),
    };
  }

  /** Notes that the version `hash` of `root`/`path` was served at `at` (ms). */
  record(root: string, path: string, hash: string, at: number): void {
    this.stmt.record.run(root, path, hash, at);
  }

  /** True when `hash` is a version `root`/`path` had on E: served for it, or replaced there by an apply. */
  belongs(root: string, path: string, hash: string): boolean {
    return this.stmt.served.get(root, path, hash) !== undefined || this.stmt.replaced.get(root, path, hash) !== undefined;
  }

  /** Forgets what was last served before `cutoff` (ms): the version store prunes those versions by the same age. */
  prune(cutoff: number): number {
    return this.stmt.prune.run(cutoff).changes;
  }
}

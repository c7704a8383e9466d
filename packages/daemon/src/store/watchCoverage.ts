import type Database from "better-sqlite3";

/** A root some of whose folders could not be watched, as `zync-daemon status` shows it (from another process). */
export type RootCoverage = {
  root: string;
  /** Watches in place. */
  watched: number;
  /** Folders the root wants watched. */
  needed: number;
  /** The limit that would let every folder be watched, when the system shows its limit. */
  limitNeeded: number | null;
  /** Seconds between the rescans of the unwatched folders. */
  rescanSeconds: number;
  /** The topmost unwatched folders: the first few, and how many there are. */
  unwatched: string[];
  unwatchedTotal: number;
  /** When the unwatched folders were last rescanned (ms since the epoch), or null before the first rescan. */
  lastRescanAt: number | null;
};

const PREFIX = "watch_coverage:";

/** Kept in the database's `meta` table, one row per root that is short of watches. */
export class WatchCoverageStore {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Records a root's shortfall, or clears it (every folder watched). */
  set(root: string, coverage: RootCoverage | undefined): void {
    if (coverage === undefined) this.db.prepare("DELETE FROM meta WHERE key = ?").run(PREFIX + root);
    else this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(PREFIX + root, JSON.stringify(coverage));
  }

  /** Forgets every root's shortfall (a daemon starting finds out afresh). */
  clear(): void {
    this.db.prepare("DELETE FROM meta WHERE key >= ? AND key < ?").run(PREFIX, `${PREFIX}\uffff`);
  }

  /** The roots short of watches, by name. */
  all(): Map<string, RootCoverage> {
    const rows = this.db.prepare<[string, string], { value: string }>("SELECT value FROM meta WHERE key >= ? AND key < ? ORDER BY key").all(PREFIX, `${PREFIX}\uffff`);
    const out = new Map<string, RootCoverage>();
    for (const r of rows) {
      try {
        const c = JSON.parse(r.value) as RootCoverage;
        out.set(c.root, c);
      } catch {
        // A row written by another version: shown as nothing rather than failing status.
      }
    }
    return out;
  }
}

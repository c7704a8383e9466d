import type Database from "better-sqlite3";
import type { Change, GitBatch, GitRootState } from "@zync/protocol";

type StateRow = { root: string; branch: string | null; commit_id: string | null; waiting_since: number | null; waiting_reason: string | null; updated_at: number };

/** Batches kept per root; older ones are forgotten (their changes are long applied by every client that follows). */
const KEPT_BATCHES = 10_000;

/**
 * Feature "git" in the daemon's database: the batches (changes git made in one operation, recorded in one
 * transaction, so a root's seqs from `first` to `last`) and each root's git state, which `zync-daemon status`
 * reads from another process.
 */
export class GitStore {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      addBatch: db.prepare("INSERT OR REPLACE INTO git_batches (root, first_seq, last_seq, at) VALUES (?, ?, ?, ?)"),
      pruneBatches: db.prepare(
        `DELETE FROM git_batches WHERE root = ? AND first_seq < (SELECT first_seq FROM git_batches WHERE root = ? ORDER BY first_seq DESC LIMIT 1 OFFSET ${KEPT_BATCHES - 1})`,
      ),
      overlapping: db.prepare<[string, number, number], { first_seq: number; last_seq: number }>(
        "SELECT first_seq, last_seq FROM git_batches WHERE root = ? AND last_seq >= ? AND first_seq <= ? ORDER BY first_seq",
      ),
      batches: db.prepare<[string], { first_seq: number; last_seq: number; at: number }>("SELECT first_seq, last_seq, at FROM git_batches WHERE root = ? ORDER BY first_seq"),
      putState: db.prepare(
        `INSERT INTO git_state (root, branch, commit_id, waiting_since, waiting_reason, updated_at) VALUES (@root, @branch, @commit, @since, @reason, @at)
         ON CONFLICT (root) DO UPDATE SET branch = excluded.branch, commit_id = excluded.commit_id, waiting_since = excluded.waiting_since,
           waiting_reason = excluded.waiting_reason, updated_at = excluded.updated_at`,
      ),
      dropState: db.prepare("DELETE FROM git_state WHERE root = ?"),
      states: db.prepare<[], StateRow>("SELECT * FROM git_state ORDER BY root"),
    };
  }

  /** Notes that the root's changes from `first` to `last` were recorded as one batch. Call inside its transaction. */
  addBatch(root: string, first: number, last: number, at = Date.now()): void {
    this.stmt.addBatch.run(root, first, last, at);
    this.stmt.pruneBatches.run(root, root);
  }

  /** Every batch of a root, oldest first (for status and tests). */
  batchesOf(root: string): { first: number; last: number; at: number }[] {
    return this.stmt.batches.all(root).map((r) => ({ first: r.first_seq, last: r.last_seq, at: r.at }));
  }

  /** The batches that at least one of `changes` belongs to, by root and then sequence. */
  batchesFor(changes: readonly Pick<Change, "root" | "seq">[]): GitBatch[] {
    const byRoot = new Map<string, number[]>();
    for (const c of changes) {
      const seqs = byRoot.get(c.root) ?? [];
      seqs.push(c.seq);
      byRoot.set(c.root, seqs);
    }
    const out: GitBatch[] = [];
    for (const [root, seqs] of [...byRoot].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const lo = Math.min(...seqs);
      const hi = Math.max(...seqs);
      for (const b of this.stmt.overlapping.all(root, lo, hi)) {
        if (seqs.some((s) => s >= b.first_seq && s <= b.last_seq)) out.push({ root, first: b.first_seq, last: b.last_seq });
      }
    }
    return out;
  }

  /** Stores a root's git state as the daemon sees it now. */
  putState(s: GitRootState, at = Date.now()): void {
    this.stmt.putState.run({ root: s.root, branch: s.branch, commit: s.commit, since: s.waiting?.since ?? null, reason: s.waiting?.reason ?? null, at });
  }

  /** Forgets the git state of a root that is not a git work tree (any more). */
  dropState(root: string): void {
    this.stmt.dropState.run(root);
  }

  /** The stored git state of every root, with when it was stored. */
  states(): (GitRootState & { updatedAt: number })[] {
    return this.stmt.states.all().map((r) => ({
      root: r.root,
      branch: r.branch,
      commit: r.commit_id,
      waiting: r.waiting_since === null ? null : { since: r.waiting_since, reason: r.waiting_reason ?? "" },
      updatedAt: r.updated_at,
    }));
  }
}

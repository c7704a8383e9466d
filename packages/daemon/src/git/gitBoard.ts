import type { Change, GitBatch, GitRootState } from "@zync/protocol";
import type { GitStore } from "../store/gitStore.js";

/**
 * What connections that agreed feature "git" are told: the git state of every served root that is a git work
 * tree (kept in the database too, for `zync-daemon status`), and the batches a page's changes belong to.
 */
export class GitBoard {
  private readonly store: GitStore;
  private readonly states = new Map<string, GitRootState>();
  private readonly listeners = new Set<() => void>();

  constructor(store: GitStore) {
    this.store = store;
  }

  /** A root's git state changed. */
  set(state: GitRootState): void {
    this.states.set(state.root, state);
    this.store.putState(state);
    for (const l of this.listeners) l();
  }

  /** Every root's git state now, by root name. */
  all(): GitRootState[] {
    return [...this.states.values()].sort((a, b) => (a.root < b.root ? -1 : 1));
  }

  /** Calls `listener` after every change of any root's state; returns the way to stop. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The batches that the changes of a page belong to. */
  batchesFor(changes: readonly Pick<Change, "root" | "seq">[]): GitBatch[] {
    return changes.length === 0 ? [] : this.store.batchesFor(changes);
  }
}

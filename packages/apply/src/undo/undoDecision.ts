import { placementLeavesGap } from "@zync/daemon";
import { sameContent, type EntryState } from "@zync/protocol";

/** What undo does with one path an apply wrote. */
export type UndoStep =
  /** E holds its earlier state already (undone before, or a killed undo got that far): only recorded. */
  | { kind: "done" }
  /** E holds what the apply wrote (or the gap a killed undo left): E's earlier state is put back. */
  | { kind: "restore" }
  /** Left alone, for the reason given (one clause, naming no path). */
  | { kind: "refuse"; reason: string };

/** What undo knows about one path when it decides. */
export type UndoFacts = {
  /** What E held before the apply wrote the path. */
  before: EntryState;
  /** What the apply wrote. */
  applied: EntryState;
  /** What E holds now. */
  current: EntryState;
  /** True when an undo had begun to put `before` back here (it may have been killed half way). */
  undoing: boolean;
  /** True when E's earlier content is at hand (in the version store or the session's kept copies). */
  haveBefore: boolean;
};

/** The same entry, exactly: a file's content and every permission bit, a link's target, a folder, or nothing. */
export function sameEntry(a: EntryState, b: EntryState): boolean {
  return sameContent(a, b, 0o777);
}

/** A short description of a state for a sentence. */
function described(s: EntryState): string {
  switch (s.kind) {
    case "file":
      return `a file of ${s.size} byte(s)`;
    case "dir":
      return "a folder";
    case "symlink":
      return "a link";
    case "deleted":
      return "nothing";
  }
}

/**
 * Decides what undo does with one path: E's earlier state is put back only over exactly what the apply wrote
 * (or over the gap a killed undo left in a change of kind); anything else E holds there now is E's own later
 * work, and is left alone.
 */
export function decideUndo(f: UndoFacts): UndoStep {
  if (sameEntry(f.current, f.before)) {
    // A killed undo may have made the folder and not yet set its mode (a folder's mode is not part of sameEntry).
    const modeLeft = f.undoing && f.before.kind === "dir" && f.current.kind === "dir" && (f.before.mode & 0o777) !== (f.current.mode & 0o777);
    return modeLeft ? { kind: "restore" } : { kind: "done" };
  }
  const resumesGap = f.undoing && f.current.kind === "deleted" && placementLeavesGap(f.applied, f.before);
  if (!sameEntry(f.current, f.applied) && !resumesGap) {
    return { kind: "refuse", reason: `changed on E since the apply (E holds ${described(f.current)}, the apply wrote ${described(f.applied)})` };
  }
  const needsContent = f.before.kind === "file" && !(f.current.kind === "file" && f.current.hash === f.before.hash);
  if (needsContent && !f.haveBefore) return { kind: "refuse", reason: "E's earlier version is no longer in the version store (pruned by retention)" };
  return { kind: "restore" };
}

/**
 * The order undo goes in: first the paths the apply created (removed), deepest first, so a folder is empty when
 * its turn comes; then the rest shallowest first, so a folder the apply removed is back before its files.
 */
export function undoOrder<T extends { path: string; before: EntryState }>(paths: readonly T[]): T[] {
  const depth = (p: string): number => p.split("/").length;
  const removals = paths.filter((p) => p.before.kind === "deleted");
  const rest = paths.filter((p) => p.before.kind !== "deleted");
  return [...removals.sort((a, b) => depth(b.path) - depth(a.path)), ...rest.sort((a, b) => depth(a.path) - depth(b.path))];
}

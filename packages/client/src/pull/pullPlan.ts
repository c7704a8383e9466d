/**
 * The pull planner: pure decisions about one page of E's changes. Given each change, the base R last received
 * for the path and what R holds there now, it says what to do; the executor (pullExecutor.ts) does it. Nothing
 * here touches the disk or the network, so every rule is a table test.
 */
import { decide, depthOf, foldCase, isSameOrBelow, sameContent, type Change, type EntryState } from "@zync/protocol";

/** What R holds at a path, as the planner sees it. */
export type LocalFact =
  /** R holds this state at the path (deleted: nothing there). */
  | { kind: "held"; state: EntryState }
  /**
   * A file or link stands where a folder on the way to the path should be, so nothing can be at the path on R.
   * `fromE` when that file or link is one R received from E and has not changed since.
   */
  | { kind: "blocked"; fromE: boolean }
  /** On a case-insensitive R, another spelling (`actual`) holds this path's slot. */
  | { kind: "alias"; actual: string };

/** One change to plan: E's new state, R's base for the path, and what R holds. */
export type PlanInput = {
  seq: number;
  path: string;
  remote: EntryState;
  base: EntryState | undefined;
  local: LocalFact;
};

/** Why a path is left as R has it and reported. */
export type ConflictReason =
  /** R changed the path too (edited, created or deleted it). */
  | "edited-on-R"
  /** Something R put there stands where a folder on the way should be. */
  | "blocked-by-R"
  /** On a case-insensitive R, another name E also keeps already holds the slot. */
  | "case-collision";

/**
 * What to do with one change:
 * - `record`: R already holds E's content; only the base is recorded (`retouch`: set E's mode and mtime too).
 * - `keep`: E did not change the path (its state is the base); R's own version stays and nothing is recorded.
 * - `forget`: E deleted a path that cannot exist on R (a file of E's stands in its way): the base goes.
 * - `write`: E's state is placed; with `aside`, R's differing copy is first moved aside (--prefer-daemon).
 * - `merge` (--merge): R edited the path and E changed it too; E's and R's edits are merged on R if they can be
 *   (mergeOnR.ts), else the path is a conflict.
 * - `conflict`: R's content stays as it is and the path is reported.
 */
export type PullAction =
  | { kind: "record"; input: PlanInput; retouch: boolean }
  | { kind: "keep"; input: PlanInput }
  | { kind: "forget"; input: PlanInput }
  | { kind: "write"; input: PlanInput; aside: boolean }
  | { kind: "merge"; input: PlanInput }
  | { kind: "conflict"; input: PlanInput; reason: ConflictReason };

/** Choices that change the plan. */
export type PlanPolicy = {
  /** On a conflict, take E's version and keep R's beside it. */
  preferDaemon: boolean;
  /** On a conflict of R's edit with E's, merge the two on R when they do not overlap (never with preferDaemon). */
  merge?: boolean;
};

/** The permission bits zync carries. */
const PERMISSIONS = 0o777;

/** True when R holds E's content but not E's permission bits or mtime, so they are set to E's. */
export function needsRetouch(remote: EntryState, local: EntryState): boolean {
  if (remote.kind === "file" && local.kind === "file") return remote.mtimeMs !== local.mtimeMs || (remote.mode & PERMISSIONS) !== (local.mode & PERMISSIONS);
  if (remote.kind === "dir" && local.kind === "dir") return (remote.mode & PERMISSIONS) !== (local.mode & PERMISSIONS);
  return false;
}

/** Plans one change. R's own edits are never overwritten or deleted, except aside under --prefer-daemon. */
export function planChange(input: PlanInput, policy: PlanPolicy): PullAction {
  const { remote, base, local } = input;
  if (local.kind === "alias") {
    // Whatever holds the slot is another path's: it is never replaced or deleted in this path's name.
    return remote.kind === "deleted" ? { kind: "forget", input } : { kind: "conflict", input, reason: "case-collision" };
  }
  if (local.kind === "blocked") {
    if (remote.kind === "deleted") return { kind: "forget", input };
    // A file of E's in the way: E replaced it with a folder, and that folder's change clears the way first.
    if (local.fromE) return { kind: "write", input, aside: false };
    return { kind: "conflict", input, reason: "blocked-by-R" };
  }
  switch (decide(remote, base, local.state)) {
    case "record":
      return { kind: "record", input, retouch: needsRetouch(remote, local.state) };
    case "keep":
      return { kind: "keep", input };
    case "apply":
      return { kind: "write", input, aside: false };
    case "conflict":
      if (policy.preferDaemon) return { kind: "write", input, aside: true };
      return policy.merge === true ? { kind: "merge", input } : { kind: "conflict", input, reason: "edited-on-R" };
  }
}

/**
 * True when an interrupted run's recorded placement of `placed` may become the path's base: R holds exactly that
 * content, so it is E's, placed by the run that was killed before it could record it.
 */
export function adoptPlacement(placed: EntryState, local: EntryState): boolean {
  return sameContent(placed, local);
}

/**
 * How many of the files R holds a pull really loses: files R received from E that it deletes, minus those whose
 * content the same pull brings back under another name (a rename or a moved folder), and never more than the
 * net fall in the number of files R holds (a moved folder whose files were also edited on the way loses
 * nothing either: as many files arrive as go).
 */
export function contentLosingDeletions(changes: readonly Pick<Change, "path" | "state">[], baseOf: (path: string) => EntryState | undefined): number {
  const arriving = new Map<string, number>();
  let added = 0;
  let deleted = 0;
  for (const c of changes) {
    if (c.state.kind !== "file") continue;
    arriving.set(c.state.hash, (arriving.get(c.state.hash) ?? 0) + 1);
    if (baseOf(c.path)?.kind !== "file") added++;
  }
  let lost = 0;
  for (const c of changes) {
    if (c.state.kind === "file") continue;
    const base = baseOf(c.path);
    if (base?.kind !== "file") continue;
    // A file R holds that becomes a folder, a link or nothing is gone as a file.
    deleted++;
    const left = arriving.get(base.hash) ?? 0;
    if (left > 0) arriving.set(base.hash, left - 1);
    else lost++;
  }
  return Math.min(lost, Math.max(0, deleted - added));
}

/** A case-only rename on E (`readme.md` → `README.md`, or a folder's), to be done as a rename on a case-folding R. */
export type CaseRename = { from: string; to: string };

/**
 * Finds the case-only renames in a page: a path R holds (it has a base) that E deletes while E adds a path that
 * differs from it only by case. On a case-insensitive R both names share one slot, so applying the add and then
 * the delete as written would delete the file; done as a rename, nothing is lost or downloaded. A rename below
 * a renamed folder is part of the folder's.
 */
export function caseRenames(changes: readonly Pick<Change, "path" | "state">[], hasBase: (path: string) => boolean): CaseRename[] {
  const deleted = new Map<string, string>();
  for (const c of changes) if (c.state.kind === "deleted" && hasBase(c.path)) deleted.set(foldCase(c.path), c.path);
  const found: CaseRename[] = [];
  const adds = changes.filter((c) => c.state.kind !== "deleted").sort((a, b) => depthOf(a.path) - depthOf(b.path));
  for (const c of adds) {
    const from = deleted.get(foldCase(c.path));
    if (from === undefined || from === c.path) continue;
    if (found.some((r) => isSameOrBelow(from, r.from))) continue;
    found.push({ from, to: c.path });
  }
  return found;
}

/**
 * What a full pull's re-read of a path R received says (`--full`): `intact` when R still holds the base's content,
 * `changed` when it holds other content (changed behind zync's back with its stat facts restored, or damaged on
 * disk): R's edit from now on, kept by the usual rules. `absent` when nothing is there: a deletion that a plain
 * pull sees by its stat already.
 */
export function recheckVerdict(base: EntryState, local: EntryState): "intact" | "changed" | "absent" {
  if (local.kind === "deleted") return "absent";
  return sameContent(base, local) ? "intact" : "changed";
}

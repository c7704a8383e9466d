import type { EntryState } from "@zync/protocol";
import { escapeControl, formatBytes } from "@zync/node";
import type { ReviewedChange, StagedChange } from "@zync/daemon";

/** What a change does to its path, in one word. */
export type ChangeKind = "add" | "modify" | "mode" | "delete" | "replace";

export function kindOf(change: Pick<StagedChange, "base" | "state">): ChangeKind {
  const { base, state } = change;
  if (state.kind === "deleted") return "delete";
  if (base === null || base.kind === "deleted") return "add";
  if (base.kind !== state.kind) return "replace";
  if (state.kind === "file" && base.kind === "file" && state.hash === base.hash) return "mode";
  return "modify";
}

/** A short description of a state: "file 1.2 KiB", "folder", "link -> target", "nothing"; safe to print. */
export function describeState(s: EntryState): string {
  switch (s.kind) {
    case "file":
      return `file ${formatBytes(s.size)}${s.mode & 0o111 ? ", executable" : ""}`;
    case "dir":
      return "folder";
    case "symlink":
      return `link -> ${escapeControl(s.target)}`;
    case "deleted":
      return "nothing";
  }
}

/** Why a change needs an explicit choice, or is not applied, as one clause safe to print; undefined when nothing is wrong. */
export function reasonOf(c: ReviewedChange): string {
  const why = c.refused ?? c.blocked ?? c.confirm ?? c.flagged;
  return why !== undefined ? escapeControl(why) : "changed on E too";
}

import type { EntryState } from "@zync/protocol";
import { formatBytes } from "@zync/node";
import type { StagedChange } from "@zync/daemon";

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

/** A short description of a state: "file 1.2 KiB", "folder", "link -> target", "nothing". */
export function describeState(s: EntryState): string {
  switch (s.kind) {
    case "file":
      return `file ${formatBytes(s.size)}${s.mode & 0o111 ? ", executable" : ""}`;
    case "dir":
      return "folder";
    case "symlink":
      return `link -> ${s.target}`;
    case "deleted":
      return "nothing";
  }
}

/**
 * Merge on R (`zync-client --merge`): the pure decisions. A pull conflict on a text file whose two edits do not
 * overlap is merged on R, with the version both edits started from (R's base) fetched from E's version store. These
 * functions say whether a conflict is worth fetching that base for, and what the merge then gives; the executor
 * (pullExecutor.ts) fetches and places. Every "no" carries one sentence saying why the path stays a conflict.
 */
import type { MergeOutcome } from "@zync/node";
import type { EntryState } from "@zync/protocol";

/** Largest file merged on R (each of the three versions); a larger one stays a conflict. */
export const MAX_MERGE_ON_R_BYTES = 8 * 1024 * 1024;

/** What R knows of a conflict before any content is fetched. */
export type MergeFacts = {
  /** E's new state. */
  remote: EntryState;
  /** R's base: what R last received from E for the path. */
  base: EntryState | undefined;
  /** What R holds now. */
  local: EntryState;
  /** True when the connection agreed feature `versions` (E's daemon serves stored versions). */
  versionsAgreed: boolean;
};

/** Whether to try a merge: fetch the base with `baseHash`, or keep the conflict for `reason`. */
export type MergeCandidate = { kind: "fetch"; baseHash: string } | { kind: "no"; reason: string };

/** What a merge on R gives once the three versions were read: merged bytes, or the reason it stays a conflict. */
export type MergeVerdict = { kind: "merged"; bytes: Buffer } | { kind: "no"; reason: string };

/** Decides whether a conflict can be merged at all, before anything is fetched. */
export function mergeCandidate(f: MergeFacts): MergeCandidate {
  const { remote, base, local } = f;
  if (local.kind !== "file") return { kind: "no", reason: local.kind === "deleted" ? "R deleted the file" : "R's path is not a file" };
  if (remote.kind !== "file") return { kind: "no", reason: remote.kind === "deleted" ? "E deleted the file" : "E's path is not a file" };
  if (base?.kind !== "file") return { kind: "no", reason: "the path was not a file when R last received it" };
  if (Math.max(remote.size, base.size, local.size) > MAX_MERGE_ON_R_BYTES) return { kind: "no", reason: "the file is too large to merge (over 8 MiB)" };
  if (!f.versionsAgreed) return { kind: "no", reason: "E's daemon does not offer stored versions (feature versions), so the version both sides started from cannot be fetched" };
  return { kind: "fetch", baseHash: base.hash };
}

/** What the 3-way merge of E's and R's versions against the base gives, as a merge or a reason. */
export function mergeVerdict(outcome: MergeOutcome): MergeVerdict {
  switch (outcome.kind) {
    case "clean":
      return { kind: "merged", bytes: outcome.bytes };
    case "overlap":
      return { kind: "no", reason: `R's and E's edits overlap (${outcome.overlaps} place${outcome.overlaps === 1 ? "" : "s"})` };
    case "unavailable":
      return { kind: "no", reason: outcome.reason };
  }
}

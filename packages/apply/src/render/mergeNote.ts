import { escapeControl } from "@zync/node";

/** Whether a conflict can be merged, without the merge itself (a MergeOutcome is one too); `show --json` prints it. */
export type MergeVerdict = { kind: "clean" } | { kind: "overlap"; overlaps: number } | { kind: "unavailable"; reason: string };

/** One sentence on whether a conflict can be merged, and why not; safe to print. */
export function mergeNote(verdict: MergeVerdict): string {
  switch (verdict.kind) {
    case "clean":
      return "E's and R's changes do not overlap: they can be merged.";
    case "overlap":
      return `no clean merge: E's and R's changes overlap in ${verdict.overlaps} place(s).`;
    case "unavailable":
      return `merge not offered: ${escapeControl(verdict.reason)}.`;
  }
}

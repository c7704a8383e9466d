/** Counters and findings of one run, printed at its end. */
export type RunReport = {
  written: number;
  deleted: number;
  /** The paths this run wrote or deleted, in the order it placed them (for the `--on-change` hooks). */
  changed: { root: string; path: string }[];
  bytes: number;
  /** Files taken from another local file with the same content instead of downloaded. */
  copied: number;
  /** Conflicts found or still open, as root/path. */
  conflicts: string[];
  /** Conflicts merged on R (--merge), as root/path: R's file now holds both edits, to go upstream. */
  merged: string[];
  /** Conflicts --merge could not merge, as root/path with the reason (they stay conflicts). */
  notMerged: { path: string; reason: string }[];
  /** Paths that could not be placed on R this run, as root/path with the reason. */
  unplaced: { path: string; reason: string }[];
  /** Paths E could not read this run (E's daemon records them again once it can), with the reason. */
  unsynced: { path: string; reason: string }[];
  /** Copies of R's content moved aside because --prefer-daemon let E win. */
  keptAside: string[];
  /** With --dry-run: what a real run would do, one line each. */
  preview: PreviewLine[];
  /** Files and bytes this run has planned to fetch so far (for progress). */
  plannedFiles: number;
  plannedBytes: number;
};

/** One thing a dry run found a real run would do. */
export type PreviewLine = { action: "add" | "change" | "delete" | "conflict"; path: string; size: number };

export function emptyReport(): RunReport {
  return { written: 0, deleted: 0, changed: [], bytes: 0, copied: 0, conflicts: [], merged: [], notMerged: [], unplaced: [], unsynced: [], keptAside: [], preview: [], plannedFiles: 0, plannedBytes: 0 };
}

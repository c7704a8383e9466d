import type { ReviewedChange } from "@zync/daemon";
import { isSameOrBelow, parentOf } from "@zync/protocol";
import type { Choice } from "../prompter.js";
import { folderLabel } from "../render/folderGroups.js";
import type { TakeSide } from "./bulkTake.js";

/** True when `path` lies under `folder` ("" is the root, under which every path lies). */
function isUnder(folder: string, path: string): boolean {
  return folder === "" || isSameOrBelow(path, folder);
}

/** The answers that settle a conflict and every remaining one under its folder. */
export type FolderAction = "take-folder" | "keep-folder";

/** A side chosen, during one interactive review, for every remaining conflict under a folder. */
export type FolderTake = { folder: string; side: TakeSide };

/**
 * The choices "take R's / keep E's version for this and every remaining conflict under this conflict's folder",
 * offered only when at least one of the conflicts still to come lies there. Their names are safe to print.
 */
export function folderChoices(c: Pick<ReviewedChange, "path">, later: readonly Pick<ReviewedChange, "path" | "decision">[]): Choice<FolderAction>[] {
  const folder = parentOf(c.path);
  const more = later.filter((x) => x.decision === "conflict" && isUnder(folder, x.path)).length;
  if (more === 0) return [];
  const where = folder === "" ? "in this session" : `under ${folderLabel(folder)}`;
  return [
    { key: "t", name: `take R's version for this and every remaining conflict ${where} (${more} more)`, value: "take-folder" },
    { key: "k", name: `keep E's version for this and every remaining conflict ${where} (${more} more)`, value: "keep-folder" },
  ];
}

/** The folder choice made earlier in this review that settles `c`, if any. A change to an ignore file is still asked before R's version is taken. */
export function folderTakeFor(c: Pick<ReviewedChange, "path" | "confirm">, takes: readonly FolderTake[]): FolderTake | undefined {
  return takes.find((t) => isUnder(t.folder, c.path) && (t.side === "e" || c.confirm === undefined));
}

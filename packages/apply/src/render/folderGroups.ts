import { escapeControl } from "@zync/node";
import { parentOf } from "@zync/protocol";

/** Sessions with more changes than this are shown grouped by folder. */
export const GROUP_FROM = 20;

/** Groups shown at most; deeper folders are folded into their parents until the groups fit. */
export const MAX_GROUPS = 20;

/** Changes under one folder: `folder` is root-relative, "" for the root. */
export type FolderGroup<T> = { folder: string; items: T[] };

/**
 * Groups items by the folder their path lies in, as deep as possible while there are at most `maxGroups` groups:
 * a folder too many to show is folded into its parent, so `src/a/x` and `src/b/y` become `src` when `src/a` and
 * `src/b` do not both fit. Groups are sorted by folder; each keeps its items in their given order.
 */
export function groupByFolder<T>(items: readonly T[], pathOf: (item: T) => string, maxGroups = MAX_GROUPS): FolderGroup<T>[] {
  const parents = items.map((item) => {
    const folder = parentOf(pathOf(item));
    return folder === "" ? [] : folder.split("/");
  });
  const keysAt = (depth: number): string[] => parents.map((p) => p.slice(0, depth).join("/"));
  let depth = Math.max(0, ...parents.map((p) => p.length));
  while (depth > 0 && new Set(keysAt(depth)).size > maxGroups) depth--;
  const keys = keysAt(depth);
  const groups = new Map<string, T[]>();
  items.forEach((item, i) => {
    const key = keys[i]!;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  });
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([folder, grouped]) => ({ folder, items: grouped }));
}

/** A folder as a heading, safe to print: `src/gen/`, or `./` for the root. */
export function folderLabel(folder: string): string {
  return folder === "" ? "./" : `${escapeControl(folder)}/`;
}

/** A path shown under its group's heading: relative to the group's folder. */
export function pathInGroup(folder: string, path: string): string {
  return folder === "" ? path : path.slice(folder.length + 1);
}

/** "12 change(s), 3 in conflict" for a group, the conflicts left out when there are none. */
export function groupCounts(changes: number, conflicts: number): string {
  return `${changes} change(s)${conflicts > 0 ? `, ${conflicts} in conflict` : ""}`;
}

/** The lines of a session's overview: one per folder group with its counts, for sessions longer than {@link GROUP_FROM}. */
export function folderOverview(changes: readonly { path: string; conflict: boolean }[]): string[] {
  if (changes.length <= GROUP_FROM) return [];
  const groups = groupByFolder(changes, (c) => c.path);
  const width = Math.max(...groups.map((g) => folderLabel(g.folder).length));
  return [`by folder (${groups.length}):`, ...groups.map((g) => `  ${folderLabel(g.folder).padEnd(width)}  ${groupCounts(g.items.length, g.items.filter((c) => c.conflict).length)}`)];
}

/** What the fault tests with edits on R use to find those edits again at the end. */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { posix } from "node:path";

/** The infix of the copies R keeps aside (`NAME.zync-conflict-...`). */
export const CONFLICT_INFIX = ".zync-conflict-";

/** True when `a` is `b`, or a folder above it, or below it. */
export function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** The content of a regular file, or undefined when there is none at `abs`. */
export function fileContent(abs: string): string | undefined {
  try {
    return lstatSync(abs).isFile() ? readFileSync(abs, "utf8") : undefined;
  } catch {
    return undefined;
  }
}

/** Copies of `rel` kept aside on R (`NAME.zync-conflict-...` beside it). */
export function keptAside(r: string, rel: string): string[] {
  const dir = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
  try {
    return readdirSync(dir === "" ? r : `${r}/${dir}`)
      .filter((n) => n.startsWith(`${posix.basename(rel)}${CONFLICT_INFIX}`))
      .map((n) => (dir === "" ? n : `${dir}/${n}`));
  } catch {
    return [];
  }
}

/**
 * R's edits (path → content R wrote) that did not survive at the end: each must be in place and either reported
 * as a conflict (`open`, root-relative) or waiting to go upstream (`offered`), or kept aside as a conflict copy.
 * One line per lost edit, saying how it was lost.
 */
export function lostEdits(r: string, edits: ReadonlyMap<string, string>, open: readonly string[], offered: readonly string[]): string[] {
  const lost: string[] = [];
  for (const [p, content] of edits) {
    const inPlace = fileContent(`${r}/${p}`) === content;
    const aside = keptAside(r, p).some((c) => fileContent(`${r}/${c}`) === content);
    if (inPlace && !open.some((c) => related(c, p)) && !offered.includes(p)) lost.push(`${p}: R's edit is in place but neither reported as a conflict nor waiting to go upstream`);
    if (!inPlace && !aside) lost.push(`${p}: R's edit is gone (R holds ${fileContent(`${r}/${p}`)?.slice(0, 60) ?? "nothing"})`);
  }
  return lost;
}

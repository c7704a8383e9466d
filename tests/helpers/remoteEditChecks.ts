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

import { ErrorCode, ProtocolError } from "./errors.js";

/**
 * The one place where paths from the wire, the command line or a database are checked.
 * Wire paths are POSIX, relative to a named root, with no empty, "." or ".." segments.
 */

/** Longest relative path accepted, in characters. */
export const MAX_PATH_LENGTH = 4096;

const ROOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Returns why `rel` is not a safe wire path, or undefined when it is. */
export function wirePathProblem(rel: string): string | undefined {
  if (rel.length === 0) return "is empty";
  if (rel.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (rel.includes("\0")) return "contains a NUL byte";
  if (rel.includes("\\")) return "contains a backslash";
  if (rel.startsWith("/")) return "is absolute";
  for (const segment of rel.split("/")) {
    if (segment === "") return "has an empty segment";
    if (segment === "." || segment === "..") return `has a '${segment}' segment`;
  }
  return undefined;
}

/** True when `rel` is a safe relative POSIX path. */
export function isWirePath(rel: string): boolean {
  return wirePathProblem(rel) === undefined;
}

/** Throws BAD_PATH unless `rel` is a safe relative POSIX path. */
export function assertWirePath(rel: string): void {
  const problem = wirePathProblem(rel);
  if (problem !== undefined) {
    throw new ProtocolError(ErrorCode.BadPath, `path ${JSON.stringify(rel.slice(0, 200))} ${problem}`);
  }
}

/** True when `name` can name a synced root (letters, digits, '.', '_', '-'). */
export function isRootName(name: string): boolean {
  return ROOT_NAME.test(name);
}

/**
 * Joins an absolute local root and a checked wire path. Throws BAD_PATH if the path is unsafe.
 * The filesystem layer checks again that no existing component is a symlink.
 */
export function resolveInside(root: string, rel: string): string {
  assertWirePath(rel);
  if (!root.startsWith("/")) throw new ProtocolError(ErrorCode.BadPath, `root ${root} is not absolute`);
  return root.endsWith("/") ? root + rel : `${root}/${rel}`;
}

/** The parent of a wire path, or "" for a top-level entry. */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

/**
 * The name a case-insensitive filesystem compares: two paths with the same folded form share one slot there
 * (`README.md` and `readme.md`). Unicode forms are unified too, as normalising filesystems do.
 */
export function foldCase(rel: string): string {
  return rel.normalize("NFC").toLowerCase();
}

/** Number of segments in a wire path; used to order creations parent-first and deletions child-first. */
export function depthOf(rel: string): number {
  let n = 1;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return n;
}

/** True when `rel` is `dir` itself or lies below it. */
export function isSameOrBelow(rel: string, dir: string): boolean {
  return rel === dir || rel.startsWith(dir + "/");
}

/** Most symlinks followed while resolving one link target (the limit Linux applies before ELOOP). */
export const MAX_LINK_HOPS = 40;

/**
 * True when a symlink at wire path `link` whose target is `target` leads out of its root: the target is absolute,
 * or its `..` segments climb above the root, directly or through other links on the way. `linkAt(rel)` gives the
 * target of the link at `rel` inside the root, or undefined when nothing there is a link; it is asked for every
 * path the resolution passes through, so the caller decides which tree counts (E's, with a session's changes on
 * top). A target that loops, or needs more than {@link MAX_LINK_HOPS} links, counts as leaving. Pure: the caller
 * does any reading.
 */
export function linkLeavesRoot(link: string, target: string, linkAt: (rel: string) => string | undefined): boolean {
  let hops = 0;
  // The segments `target` resolves to when read in the folder `from`, or undefined once it leaves the root.
  const resolveFrom = (from: readonly string[], target: string): string[] | undefined => {
    if (target.startsWith("/")) return undefined;
    let at = [...from];
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (at.length === 0) return undefined;
        at.pop();
        continue;
      }
      at.push(part);
      const next = linkAt(at.join("/"));
      if (next === undefined) continue;
      if (++hops > MAX_LINK_HOPS) return undefined;
      const resolved = resolveFrom(at.slice(0, -1), next);
      if (resolved === undefined) return undefined;
      at = resolved;
    }
    return at;
  };
  const folder = link.split("/").slice(0, -1);
  return resolveFrom(folder, target) === undefined;
}

import { dirname, relative } from "node:path";
import { GIT_IGNORE_FILE, IGNORE_FILE, isInsideGitDir, type IgnoreRules } from "@zync/node";
import type { EntryState } from "@zync/protocol";

/** Patterns that keep the daemon's own database files out of a root that contains them. */
export function ownFilePatterns(dbPath: string, rootAbs: string): string[] {
  const rel = relative(rootAbs, dirname(dbPath));
  if (rel.startsWith("..") || rel.startsWith("/")) return [];
  const base = relative(rootAbs, dbPath);
  return [`/${base}`, `/${base}-wal`, `/${base}-shm`, `/${base}-journal`, `/${base}.lock`, `/${base}.token`, `/${base}.staging/`, `/${base}.versions/`];
}

/**
 * Why E does not serve the path of an upstream change, or undefined when it does. The same sentence whether or
 * not anything exists there on E, so the answer tells R nothing about E's unserved files. A change is judged by
 * the kinds it names (a folder is matched as a folder, as E's own indexing does).
 */
export function unservedReason(rules: IgnoreRules, change: { path: string; base: EntryState | null; state: EntryState }): string | undefined {
  if (isInsideGitDir(change.path)) return `${change.path}: E never takes anything inside a .git folder`;
  const isDir = change.state.kind === "dir" || change.base?.kind === "dir";
  if (rules.ignores(change.path, isDir) || (isDir && rules.ignores(change.path, false))) {
    return `${change.path}: E's ignore rules leave this path out, so E does not take it`;
  }
  return undefined;
}

/** True when a path names an ignore file (`.zyncignore` or `.gitignore`, at any depth), whose changes can change what E serves. */
export function isIgnoreFile(rel: string): boolean {
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  return name === IGNORE_FILE || name === GIT_IGNORE_FILE;
}

import { existsSync, lstatSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { escapeControl as e, ignoreReason, loadIgnoreRules, UsageError, type IgnoreVerdict } from "@zync/node";
import { ChangeLog } from "../store/changeLog.js";
import { openDatabase, stagingDirFor } from "../store/database.js";
import { StagingStore } from "../upstream/stagingStore.js";

/** What `zync-daemon check-ignore` says about one path. */
export type IgnoreCheck = {
  /** The path as given. */
  path: string;
  root: string;
  /** The path relative to its root. */
  rel: string;
  synced: boolean;
  /** The deciding rule as `file:line:pattern` (file relative to the root when inside it), or why none decided. */
  reason: string;
  verdict: IgnoreVerdict;
};

/** The root (name and folder) that holds an absolute path: the deepest one when roots nest. */
function rootOf(roots: { name: string; path: string }[], abs: string): { name: string; path: string; rel: string } | undefined {
  let best: { name: string; path: string; rel: string } | undefined;
  for (const r of roots) {
    const rel = relative(r.path, abs);
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    if (best === undefined || r.path.length > best.path.length) best = { ...r, rel: rel.split(sep).join("/") };
  }
  return best;
}

/**
 * For each path (relative to `cwd` or absolute), whether the daemon on `dbPath` syncs it and which rule in which
 * file decided it, judged by the same rules the daemon uses (its --ignore patterns included, as it last recorded
 * them).
 */
export function checkIgnore(dbPath: string, paths: readonly string[], cwd: string): IgnoreCheck[] {
  if (!existsSync(dbPath)) throw new UsageError(`no zync database at ${dbPath}; pass the daemon's --db`);
  if (paths.length === 0) throw new UsageError("name at least one path to check");
  const db = openDatabase(dbPath);
  try {
    const roots = new ChangeLog(db).roots();
    const staging = new StagingStore(db, stagingDirFor(dbPath));
    const located = paths.map((p) => {
      const abs = resolve(cwd, p);
      const root = rootOf(roots, abs);
      if (root === undefined) throw new UsageError(`${e(p)} is not inside a root this daemon serves (${roots.map((r) => e(r.path)).join(", ") || "none yet"})`);
      return { p, abs, root };
    });
    const rulesOf = new Map<string, ReturnType<typeof loadIgnoreRules>>();
    return located.map(({ p, abs, root }) => {
      let rules = rulesOf.get(root.name);
      if (rules === undefined) {
        rules = loadIgnoreRules(root.path, staging.ignoreExtras(root.name), { trackedOnly: staging.trackedOnly(root.name) });
        rulesOf.set(root.name, rules);
      }
      let isDir = p.endsWith("/");
      try {
        isDir = lstatSync(abs).isDirectory();
      } catch {
        // not there: a trailing slash says folder
      }
      const verdict = root.rel === "" ? { ignored: false } : rules.explain(root.rel, isDir);
      return { path: p, root: root.name, rel: root.rel, synced: !verdict.ignored, reason: root.rel === "" ? "it is the root" : ignoreReason(verdict, root.path, isDir), verdict };
    });
  } finally {
    db.close();
  }
}

/** One line per path: `synced` or `ignored`, the path, and what decided it. */
export function printIgnoreChecks(checks: readonly IgnoreCheck[], out: (line: string) => void): void {
  for (const c of checks) out(`${c.synced ? "synced " : "ignored"}  ${e(c.path)}  (${e(c.root)}:${e(c.rel === "" ? "." : c.rel)})  ${e(c.reason)}`);
}

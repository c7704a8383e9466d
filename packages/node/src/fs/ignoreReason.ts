import { isAbsolute, relative } from "node:path";
import type { IgnoreVerdict } from "./gitIgnoreRules.js";

/**
 * What decided a path, as one phrase for the person on the side whose rules these are: `file:line:pattern` (the
 * file relative to the root when inside it), or why no pattern did. It may name files outside the root, so it is
 * for this side's own terminal, never for the wire.
 */
export function ignoreReason(v: IgnoreVerdict, rootAbs: string, isDir: boolean): string {
  if (v.tracked === true) return isDir ? "git tracks files in it" : "git tracks it";
  if (v.trackedOnly === "nested-repository") return "a repository of its own, whose files git does not list (--git-tracked-only)";
  if (v.rule === undefined) return "no rule matches it";
  const inRoot = isAbsolute(v.rule.file) ? relative(rootAbs, v.rule.file) : v.rule.file;
  const file = isAbsolute(v.rule.file) && !inRoot.startsWith("..") ? inRoot : v.rule.file;
  const rule = `${file}:${v.rule.line}:${v.rule.pattern}`;
  return v.trackedOnly === "git-ignores-it" ? `git ignores it (--git-tracked-only): ${rule}` : rule;
}

/**
 * Hook rules (`--on-change PATTERN=COMMAND`): which changed paths of a pass concern a rule. Pure, so every case is
 * a table test; running the command is hookRunner.ts's business.
 */
import { pathPattern } from "@zync/node";

/** One `--on-change` rule: a gitignore-style pattern and the shell command run when a pass changed a match. */
export type HookRule = {
  /** The rule as the user wrote it, for output and history. */
  text: string;
  pattern: string;
  command: string;
  matches(rel: string): boolean;
};

/** A path a pass wrote or deleted, in the root named `root`. */
export type ChangedPath = { root: string; path: string };

/**
 * Parses `PATTERN=COMMAND`, split at the first `=` (so the command may hold more; a pattern cannot). Returns the
 * rule, or one sentence saying what is wrong.
 */
export function parseHookRule(text: string): HookRule | { problem: string } {
  const at = text.indexOf("=");
  const shape = `--on-change ${JSON.stringify(text)} is not of the form PATTERN=COMMAND (for example 'package-lock.json=npm ci')`;
  if (at < 0) return { problem: shape };
  const pattern = text.slice(0, at).trim();
  const command = text.slice(at + 1).trim();
  if (pattern === "" || command === "") return { problem: shape };
  const matcher = pathPattern(pattern);
  if ("problem" in matcher) return { problem: `--on-change pattern ${JSON.stringify(pattern)} ${matcher.problem}` };
  return { text, pattern, command, matches: (rel) => matcher.matches(rel) };
}

/**
 * The paths of one pass that concern `rule`, grouped by root (each root's hook runs in that root's folder), in
 * the order the pass changed them, each once. Roots with no match are left out.
 */
export function matchingPaths(rule: HookRule, changed: readonly ChangedPath[]): Map<string, string[]> {
  const byRoot = new Map<string, Set<string>>();
  for (const c of changed) {
    if (!rule.matches(c.path)) continue;
    let set = byRoot.get(c.root);
    if (set === undefined) byRoot.set(c.root, (set = new Set()));
    set.add(c.path);
  }
  return new Map([...byRoot].map(([root, paths]) => [root, [...paths]]));
}

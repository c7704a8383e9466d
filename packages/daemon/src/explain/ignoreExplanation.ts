import type { ExplainedIgnoreRules, IgnoreRule, IgnoreVerdict } from "@zync/node";
import {
  ErrorCode,
  MAX_IGNORE_PATTERN_CHARS,
  ProtocolError,
  wirePathProblem,
  type CheckedPath,
  type CheckIgnore,
  type IgnoreChecked,
  type WireIgnoreRule,
} from "@zync/protocol";

const cut = (pattern: string): string => pattern.slice(0, MAX_IGNORE_PATTERN_CHARS);

/**
 * A rule as R may see it. R is trusted less than E: a pattern's text goes out only when R could read it anyway (an
 * ignore file E serves, or zync's built-in list). Files E does not serve (info/exclude, the user's excludes file,
 * an ignore file that is itself ignored or lies above the root) and E's command line are named by what they are,
 * never by E's absolute path, and without their text.
 */
function wireRule(rule: IgnoreRule, rules: ExplainedIgnoreRules): WireIgnoreRule {
  const base = { line: rule.line, negative: rule.negative };
  switch (rule.kind) {
    case "built-in":
      return { ...base, source: "built-in", pattern: cut(rule.pattern) };
    case "info-exclude":
      return { ...base, source: "info-exclude" };
    case "excludes-file":
      return { ...base, source: "excludes-file" };
    case "folder": {
      const file = rule.inRoot;
      if (file === undefined || wirePathProblem(file) !== undefined) return { ...base, source: "above-root" };
      if (rules.ignores(file, false)) return { ...base, source: "unserved-file", file };
      return { ...base, source: "file", file, pattern: cut(rule.pattern) };
    }
    case "command-line":
    case undefined:
      return { ...base, source: "command-line" };
  }
}

/** E's verdict on one path of a root, in its wire form (see {@link wireRule} for what is left out). */
export function wireVerdict(path: string, v: IgnoreVerdict, rules: ExplainedIgnoreRules): CheckedPath {
  if (v.trackedOnly === "nested-repository") return { path, synced: false, decidedBy: "nested-repository", gitTrackedOnly: true };
  if (v.tracked === true) return { path, synced: true, decidedBy: "tracked" };
  if (v.rule === undefined) return { path, synced: !v.ignored, decidedBy: "none" };
  return { path, synced: !v.ignored, decidedBy: "rule", rule: wireRule(v.rule, rules), ...(v.trackedOnly === undefined ? {} : { gitTrackedOnly: true }) };
}

/**
 * Answers CHECK_IGNORE for a served root with its rules: every path must pass the wire path rules (the same as
 * GET_FILE), or the whole request is refused with BAD_PATH. Nothing on E's disk is looked at but ignore files, so
 * the answer is the same whether or not a path exists on E.
 */
export function answerCheckIgnore(msg: CheckIgnore, rules: ExplainedIgnoreRules): IgnoreChecked {
  for (const p of msg.paths) {
    const problem = wirePathProblem(p.path);
    if (problem !== undefined) throw new ProtocolError(ErrorCode.BadPath, `CHECK_IGNORE refused: a path ${problem}`);
  }
  const results = msg.paths.map((p) => wireVerdict(p.path, rules.explain(p.path, p.dir), rules));
  return { type: "IGNORE_CHECKED", id: msg.id, root: msg.root, results };
}

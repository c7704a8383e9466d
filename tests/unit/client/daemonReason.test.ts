import { describe, expect, test } from "@jest/globals";
import { daemonReason } from "@zync/client";
import type { CheckedPath } from "@zync/protocol";

const rule = (r: NonNullable<CheckedPath["rule"]>, extra: Partial<CheckedPath> = {}): CheckedPath => ({ path: "p", synced: false, decidedBy: "rule", rule: r, ...extra });

describe("how R phrases E's answer", () => {
  test.each<[string, CheckedPath, boolean, string]>([
    ["no rule", { path: "p", synced: true, decidedBy: "none" }, false, "no rule matches it"],
    ["a tracked file", { path: "p", synced: true, decidedBy: "tracked" }, false, "git tracks it"],
    ["a folder holding tracked files", { path: "p", synced: true, decidedBy: "tracked" }, true, "git tracks files in it"],
    ["a nested repository", { path: "p", synced: false, decidedBy: "nested-repository", gitTrackedOnly: true }, true, "a repository of its own, whose files git does not list (--git-tracked-only)"],
    ["a served ignore file, with its text", rule({ source: "file", file: "sub/.gitignore", line: 3, pattern: "*.o", negative: false }), false, "sub/.gitignore:3:*.o"],
    ["the built-in list, with its text", rule({ source: "built-in", line: 0, pattern: ".git", negative: false }), false, "built-in:0:.git"],
    ["an unserved ignore file, named only", rule({ source: "unserved-file", file: "private/.gitignore", line: 2, negative: false }), false, "E's private/.gitignore (not synced) line 2"],
    ["a .gitignore above the root", rule({ source: "above-root", line: 4, negative: true }), false, "E's .gitignore above the root, line 4 (a ! pattern)"],
    ["info/exclude", rule({ source: "info-exclude", line: 3, negative: false }), false, "E's .git/info/exclude line 3"],
    ["the excludes file", rule({ source: "excludes-file", line: 2, negative: false }), false, "E's core.excludesFile line 2"],
    ["the daemon's command line", rule({ source: "command-line", line: 1, negative: false }), false, "E's own patterns (--ignore, its database files), number 1"],
    [
      "a rule only --git-tracked-only applies",
      rule({ source: "file", file: ".gitignore", line: 1, pattern: "build/", negative: false }, { gitTrackedOnly: true }),
      false,
      "git ignores it (--git-tracked-only): .gitignore:1:build/",
    ],
  ])("%s", (_what, answer, isDir, phrase) => {
    expect(daemonReason(answer, isDir)).toBe(phrase);
  });
});

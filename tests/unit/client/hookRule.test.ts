import { describe, expect, test } from "@jest/globals";
import { hookOutcome, matchingPaths, parseHookRule, type HookRule } from "@zync/client";

function rule(text: string): HookRule {
  const r = parseHookRule(text);
  if ("problem" in r) throw new Error(r.problem);
  return r;
}

describe("--on-change rules", () => {
  test.each([
    ["package-lock.json=npm ci", "package-lock.json", "npm ci"],
    ["src/**/*.proto=make proto", "src/**/*.proto", "make proto"],
    ["*.md = echo a=b", "*.md", "echo a=b"],
  ])("%j splits into the pattern and the command at the first '='", (text, pattern, command) => {
    expect(rule(text)).toMatchObject({ text, pattern, command });
  });

  test.each([
    ["npm ci", /not of the form PATTERN=COMMAND/],
    ["=npm ci", /not of the form PATTERN=COMMAND/],
    ["*.json=", /not of the form PATTERN=COMMAND/],
    ["!*.json=npm ci", /starts with '!'/],
    ["#x=npm ci", /starts with '#'/],
  ])("%j is refused with a sentence", (text, problem) => {
    const r = parseHookRule(text);
    expect("problem" in r && r.problem).toMatch(problem);
  });

  test.each([
    // gitignore-style: a name without a slash matches in every folder; one with a slash is anchored at the root.
    ["package-lock.json=x", "package-lock.json", true],
    ["package-lock.json=x", "web/package-lock.json", true],
    ["package-lock.json=x", "package-lock.json.bak", false],
    ["src/**/*.proto=x", "src/a.proto", true],
    ["src/**/*.proto=x", "src/api/v1/a.proto", true],
    ["src/**/*.proto=x", "lib/src/a.proto", false],
    ["src/**/*.proto=x", "src/a.proto.txt", false],
    ["*.proto=x", "deep/er/a.proto", true],
    ["build/=x", "build/out.js", true],
    ["build/=x", "build", false],
    ["docs/*.md=x", "docs/a.md", true],
    ["docs/*.md=x", "docs/sub/a.md", false],
    ["*.txt=x", "odd\nname $x.txt", true],
  ])("%j matches %j: %p", (text, path, expected) => {
    expect(rule(text).matches(path)).toBe(expected);
  });

  test("the paths of a pass are grouped by root, each once, in the order the pass changed them", () => {
    const changed = [
      { root: "code", path: "b.proto" },
      { root: "docs", path: "x.md" },
      { root: "code", path: "a.proto" },
      { root: "code", path: "b.proto" },
      { root: "docs", path: "y.proto" },
    ];
    expect([...matchingPaths(rule("*.proto=x"), changed)]).toEqual([
      ["code", ["b.proto", "a.proto"]],
      ["docs", ["y.proto"]],
    ]);
    expect(matchingPaths(rule("*.rs=x"), changed).size).toBe(0);
  });

  test.each([
    [{ status: 0, signal: null }, "ok"],
    [{ status: 3, signal: null }, "exit status 3"],
    [{ status: null, signal: "SIGTERM" }, "ended by SIGTERM"],
    [{ status: null, signal: null, error: "spawn /bin/sh ENOENT" }, "could not run: spawn /bin/sh ENOENT"],
  ])("a run that ended as %j reads %j", (r, text) => {
    expect(hookOutcome(r)).toBe(text);
  });
});

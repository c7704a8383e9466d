import { describe, expect, test } from "@jest/globals";
import { checkTakeGlobs, folderChoices, folderTakeFor, globNames, takeOption, takeVerdict } from "@zync/apply";
import { UsageError } from "@zync/node";

describe("which paths a --paths glob names", () => {
  test.each([
    ["a folder's globstar names everything under it", "gen/**", "gen/a/b.txt", true],
    ["a folder's name alone names everything under it", "gen", "gen/a/b.txt", true],
    ["a trailing slash is the same folder", "gen/", "gen/a.txt", true],
    ["a folder's name does not name a sibling sharing its prefix", "gen", "generated/a.txt", false],
    ["'*' stays within one folder: it names the top-level folder, so all under it", "*", "src/deep/x.ts", true],
    ["'*.txt' names top-level files only", "*.txt", "src/x.txt", false],
    ["'*.txt' names a top-level file", "*.txt", "x.txt", true],
    ["'**/*.txt' names files at any depth", "**/*.txt", "a/b/c.txt", true],
    ["dot files are named like any other", "**", ".github/ci.yml", true],
    ["a glob is matched against the root-relative path, so an absolute one names nothing", "/gen/**", "gen/a.txt", false],
    ["a file named exactly", "src/main.ts", "src/main.ts", true],
    ["braces expand", "{gen,lib}/**", "lib/x.js", true],
  ])("%s", (_title, glob, path, named) => {
    expect(globNames(glob, path)).toBe(named);
  });
});

describe("what --take does with one pending conflict", () => {
  const take = (side: "r" | "e", ...globs: string[]) => ({ side, globs });
  test.each([
    ["named, --take r: R's version is applied", { path: "gen/a.txt" }, take("r", "gen/**"), "apply"],
    ["named, --take e: E's version is kept", { path: "gen/a.txt" }, take("e", "gen/**"), "skip"],
    ["named by the second glob", { path: "lib/a.txt" }, take("r", "gen/**", "lib"), "apply"],
    ["not named: left pending, as without the flag", { path: "src/a.txt" }, take("r", "gen/**"), "leave"],
    ["an ignore file under --take r: left for a person", { path: "gen/.zyncignore", confirm: "an ignore file" }, take("r", "gen"), "leave"],
    ["an ignore file under --take e: keeping E's widens nothing", { path: "gen/.zyncignore", confirm: "an ignore file" }, take("e", "gen"), "skip"],
  ])("%s", (_title, change, option, verdict) => {
    expect(takeVerdict(change, option).kind).toBe(verdict);
  });

  test("a glob naming none of the conflicts is refused with one sentence naming it, before anything is done", () => {
    const conflicts = [{ path: "gen/a.txt" }, { path: "gen/b.txt" }];
    expect(() => checkTakeGlobs(7, conflicts, take("r", "gen/**"))).not.toThrow();
    expect(() => checkTakeGlobs(7, conflicts, take("r", "gen/**", "nope/**"))).toThrow(UsageError);
    expect(() => checkTakeGlobs(7, conflicts, take("r", "nope/**"))).toThrow(/--paths 'nope\/\*\*' names nothing in session 7: none of its 2 pending conflict\(s\) lies there/);
    expect(() => checkTakeGlobs(7, [], take("e", "**"))).toThrow(/it has no pending conflicts/);
  });

  test.each([
    ["--paths without --take", undefined, ["a"], {}, /--paths goes with --take/],
    ["--take without --paths", "r", undefined, {}, /--take needs --paths/],
    ["an empty glob", "r", [""], {}, /empty glob/],
    ["--take with --force", "r", ["a"], { force: true }, /--take and --force exclude each other/],
    ["--take with --merge", "e", ["a"], { merge: true }, /--take and --merge exclude each other/],
  ] as const)("%s is a usage error", (_title, side, globs, other, message) => {
    expect(() => takeOption(side, globs, { force: false, merge: false, ...other })).toThrow(message);
  });
});

describe("the interactive choice for all remaining conflicts under a folder", () => {
  const conflict = (path: string) => ({ path, decision: "conflict" as const });
  test("offered with the number of conflicts still to come under the folder", () => {
    const choices = folderChoices({ path: "gen/a.txt" }, [conflict("gen/b.txt"), conflict("gen/sub/c.txt"), conflict("src/d.txt"), { path: "gen/e.txt", decision: "apply" as const }]);
    expect(choices.map((c) => [c.key, c.value, c.name])).toEqual([
      ["t", "take-folder", "take R's version for this and every remaining conflict under gen/ (2 more)"],
      ["k", "keep-folder", "keep E's version for this and every remaining conflict under gen/ (2 more)"],
    ]);
  });

  test("not offered when no conflict still to come lies under the folder", () => {
    expect(folderChoices({ path: "gen/a.txt" }, [conflict("src/b.txt")])).toEqual([]);
  });

  test("a folder name with control characters is shown escaped", () => {
    const [take] = folderChoices({ path: "x\x1b[2J/a.txt" }, [conflict("x\x1b[2J/b.txt")]);
    expect(take?.name).toContain("under x\\x1b[2J/ (1 more)");
  });

  test("a top-level conflict's folder is the whole session", () => {
    expect(folderChoices({ path: "a.txt" }, [conflict("deep/b.txt")])[0]?.name).toBe("take R's version for this and every remaining conflict in this session (1 more)");
  });

  test("an earlier folder choice settles later conflicts under it; R's version of an ignore file is still asked", () => {
    const takes = [{ folder: "gen", side: "r" as const }];
    expect(folderTakeFor({ path: "gen/x/y.txt" }, takes)).toEqual(takes[0]);
    expect(folderTakeFor({ path: "generated/y.txt" }, takes)).toBeUndefined();
    expect(folderTakeFor({ path: "gen/.zyncignore", confirm: "an ignore file" }, takes)).toBeUndefined();
    expect(folderTakeFor({ path: "gen/.zyncignore", confirm: "an ignore file" }, [{ folder: "gen", side: "e" as const }])).toBeDefined();
  });
});

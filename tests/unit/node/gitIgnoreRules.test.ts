import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadIgnoreRules } from "@zync/node";
import { allPaths, ensureGit, git, gitAnswers, ignoreRichRepo, writeTree, type Answer } from "../../helpers/gitRepo.js";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

beforeAll(() => ensureGit());
afterAll(() => removeTempDirs());

function zyncAnswers(root: string, paths: { rel: string; isDir: boolean }[]): Map<string, Answer> {
  const rules = loadIgnoreRules(root);
  return new Map(
    paths.map(({ rel, isDir }) => {
      const v = rules.explain(rel, isDir);
      return [rel, v.rule === undefined ? { ignored: v.ignored } : { ignored: v.ignored, file: v.rule.file, line: v.rule.line }];
    }),
  );
}

describe("git's ignore rules", () => {
  test("zync and git check-ignore agree on every path of a repository, and on the rule that decided it", () => {
    const root = tempDir("zync-git-");
    ignoreRichRepo(root, join(root, ".xdg-excludes"));
    const paths = allPaths(root);
    expect(paths.length).toBeGreaterThan(40);
    const fromGit = gitAnswers(
      root,
      paths.map((p) => p.rel),
    );
    const fromZync = zyncAnswers(root, paths);
    expect([...fromZync].sort()).toEqual([...fromGit].sort());
    // The tree exercises both outcomes of every kind of rule.
    expect(fromZync.get("keep.log")).toMatchObject({ ignored: false, line: 2 });
    expect(fromZync.get("sub/build/out.js")?.ignored).toBe(false);
    expect(fromZync.get("build/keep.log")?.ignored).toBe(true);
    expect(fromZync.get("a.local")?.ignored).toBe(true);
    expect(fromZync.get("c.user-excluded")?.ignored).toBe(true);
    expect(fromZync.get("important.user-excluded")?.ignored).toBe(false);
  });

  test("a root below the top of the work tree is judged by the ignore files above it too", () => {
    const root = tempDir("zync-git-");
    ignoreRichRepo(root, join(root, ".xdg-excludes"));
    const sub = join(root, "sub");
    const rules = loadIgnoreRules(sub);
    const paths = allPaths(sub);
    const fromGit = gitAnswers(
      root,
      paths.map((p) => `sub/${p.rel}`),
    );
    for (const { rel, isDir } of paths) expect([rel, rules.ignores(rel, isDir)]).toEqual([rel, fromGit.get(`sub/${rel}`)?.ignored]);
  });

  test("a tracked file is synced although a pattern matches it, as git does; its untracked neighbours are not", () => {
    const root = tempDir("zync-git-");
    git(root, ["init", "-q", "-b", "main"]);
    writeTree(root, { "out/tracked.bin": "x", "out/new.bin": "x", "a.log": "x" });
    git(root, ["add", "out/tracked.bin", "a.log"]);
    writeFileSync(join(root, ".gitignore"), "out/\n*.log\n");
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("a.log", false)).toBe(false);
    expect(rules.ignores("out", true)).toBe(false);
    expect(rules.ignores("out/tracked.bin", false)).toBe(false);
    expect(rules.ignores("out/new.bin", false)).toBe(true);
    expect(rules.explain("a.log", false)).toEqual({ ignored: false, tracked: true });
  });

  test("a .zyncignore wins over the .gitignore of the same folder", () => {
    const root = tempDir("zync-git-");
    git(root, ["init", "-q", "-b", "main"]);
    writeTree(root, { ".gitignore": "build/\n*.log\n", ".zyncignore": "!build/\n", "sub/.zyncignore": "*.c\n", "sub/.gitignore": "!*.c\n", "build/x.js": "x", "sub/y.c": "x" });
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("build", true)).toBe(false);
    expect(rules.ignores("build/x.js", false)).toBe(false);
    expect(rules.ignores("sub/y.c", false)).toBe(true);
    expect(rules.explain("sub/y.c", false).rule).toMatchObject({ file: join(root, "sub/.zyncignore"), line: 1, pattern: "*.c" });
  });

  test("reload picks up an ignore file added in a subfolder", async () => {
    const root = tempDir("zync-git-");
    git(root, ["init", "-q", "-b", "main"]);
    writeTree(root, { "sub/a.tmp": "x" });
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("sub/a.tmp", false)).toBe(false);
    writeFileSync(join(root, "sub/.gitignore"), "*.tmp\n");
    await rules.reload();
    expect(rules.ignores("sub/a.tmp", false)).toBe(true);
  });
});

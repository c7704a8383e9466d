import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadIgnoreRules, scanTree } from "@zync/node";
import { allPaths, ensureGit, git, gitAnswers, gitListedFiles, ignoreRichRepo, trackedOnlyRepo, writeTree, type Answer } from "../../helpers/gitRepo.js";
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

/** The files a root syncs by its rules, walked as the daemon walks it. */
async function syncedFiles(root: string, rules: ReturnType<typeof loadIgnoreRules>): Promise<Set<string>> {
  const files = new Set<string>();
  for await (const { path, key } of scanTree(root, rules)) if (key.kind === "file") files.add(path);
  return files;
}

describe("core.ignorecase", () => {
  test("with core.ignorecase set, git's files match without regard to case, as git check-ignore says", () => {
    const root = tempDir("zync-git-");
    ignoreRichRepo(root, join(root, ".xdg-excludes"));
    git(root, ["config", "core.ignorecase", "true"]);
    writeTree(root, {
      ".gitignore": "*.LOG\n!KEEP.log\nBuild/\n/Root-Only\n",
      "sub/deep/.gitignore": "*.TXT\n!Wanted.txt\n",
      ".git/info/exclude": "*.Local\n",
      "Keep.LOG": "x",
      "BUILD/y.js": "x",
      "root-only": "x",
      "sub/deep/NOTE.txt": "x",
      "sub/deep/wanted.TXT": "x",
      "x.LOCAL": "x",
    });
    writeFileSync(join(root, ".xdg-excludes"), "*.User-Excluded\n");
    const paths = allPaths(root);
    const fromGit = gitAnswers(
      root,
      paths.map((p) => p.rel),
    );
    expect([...zyncAnswers(root, paths)].sort()).toEqual([...fromGit].sort());
    // The tree does depend on case: git without core.ignorecase answers differently.
    const caseSensitive = git(root, ["-c", "core.ignorecase=false", "check-ignore", "--no-index", "BUILD/y.js", "Keep.LOG", "x.LOCAL"]).trim();
    expect(caseSensitive).toBe("Keep.LOG");
    expect([fromGit.get("BUILD/y.js")?.ignored, fromGit.get("x.LOCAL")?.ignored, fromGit.get("Keep.LOG")?.ignored]).toEqual([true, true, false]);
  });

  test("a .gitignore is case-sensitive when core.ignorecase is false, as git is", () => {
    const root = tempDir("zync-git-");
    git(root, ["init", "-q", "-b", "main"]);
    git(root, ["config", "core.ignorecase", "false"]);
    writeTree(root, { ".gitignore": "*.LOG\n", "a.log": "x", "b.LOG": "x" });
    const rules = loadIgnoreRules(root);
    expect([rules.ignores("a.log", false), rules.ignores("b.LOG", false)]).toEqual([false, true]);
  });
});

describe("--git-tracked-only", () => {
  test("with it, a root syncs exactly the files git ls-files --cached --others --exclude-standard lists", async () => {
    const root = tempDir("zync-git-");
    const extra = trackedOnlyRepo(root);
    const listed = gitListedFiles(root);
    expect(listed.has("build/tracked.js")).toBe(true);
    expect(listed.has("build/x.js")).toBe(false);
    expect([...(await syncedFiles(root, loadIgnoreRules(root, extra, { trackedOnly: true })))].sort()).toEqual([...listed].sort());
  });

  test("without it, zync's own files re-include what git ignores, and a nested repository's files are synced", async () => {
    const root = tempDir("zync-git-");
    const extra = trackedOnlyRepo(root);
    const listed = gitListedFiles(root);
    const synced = await syncedFiles(root, loadIgnoreRules(root, extra));
    expect([...synced].filter((p) => !listed.has(p)).sort()).toEqual(["a.log", "build/x.js", "sub/keep.tmp", "vendor/lib/lib.c", "z.secret"]);
    expect([...listed].filter((p) => !synced.has(p))).toEqual([]);
  });

  test("it names git's rule for what only it leaves out, and zync's own rules still leave out more", () => {
    const root = tempDir("zync-git-");
    const extra = trackedOnlyRepo(root);
    writeTree(root, { "sub/.zyncignore": "!keep.tmp\nok.c\n" });
    const rules = loadIgnoreRules(root, extra, { trackedOnly: true });
    expect(rules.explain("build/x.js", false)).toMatchObject({ ignored: true, trackedOnly: "git-ignores-it", rule: { file: join(root, ".gitignore"), line: 1, pattern: "build/" } });
    expect(rules.explain("z.secret", false)).toMatchObject({ ignored: true, trackedOnly: "git-ignores-it", rule: { kind: "info-exclude", line: 1 } });
    expect(rules.explain("vendor/lib", true)).toEqual({ ignored: true, trackedOnly: "nested-repository" });
    expect(rules.explain("sub/ok.c", false)).toMatchObject({ ignored: true, rule: { file: join(root, "sub/.zyncignore"), line: 2 } });
    expect(rules.explain("sub/ok.c", false).trackedOnly).toBeUndefined();
    expect(rules.explain("build/tracked.js", false)).toEqual({ ignored: false, tracked: true });
  });
});

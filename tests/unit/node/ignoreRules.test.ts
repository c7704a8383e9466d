import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { CONFLICT_INFIX, IGNORE_FILE, isInsideGitDir, loadIgnoreRules, mayWidenIgnores, TEMP_DIR } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

function rootWith(zyncignore?: string): string {
  const root = tempDir();
  if (zyncignore !== undefined) writeFileSync(`${root}/${IGNORE_FILE}`, zyncignore);
  return root;
}

describe("default ignores", () => {
  const rules = loadIgnoreRules(rootWith());

  test.each([
    [".git", true],
    [".git/HEAD", false],
    ["sub/.git", true],
    ["node_modules", true],
    ["node_modules/left-pad/index.js", false],
    ["packages/app/node_modules", true],
    ["packages/app/node_modules/x/y.js", false],
    [".hg", true],
    [".svn", true],
  ] as const)("%s (dir: %s) is ignored anywhere in the tree", (rel, isDir) => {
    expect(rules.ignores(rel, isDir)).toBe(true);
  });

  test.each(["notes.txt.swp", "src/.main.ts.swp", "a.swo", "backup~", ".#lock", "#auto#", "4913", ".DS_Store"])(
    "editor and OS litter %s is ignored",
    (rel) => {
      expect(rules.ignores(rel, false)).toBe(true);
    },
  );

  test("zync's temp folder and everything in it is ignored", () => {
    expect(rules.ignores(TEMP_DIR, true)).toBe(true);
    expect(rules.ignores(`${TEMP_DIR}/1234-abcdef`, false)).toBe(true);
  });

  test("conflict copies are ignored at any depth", () => {
    expect(rules.ignores(`a.txt${CONFLICT_INFIX}20240101-120000`, false)).toBe(true);
    expect(rules.ignores(`src/deep/main.ts${CONFLICT_INFIX}20240101-120000-2`, false)).toBe(true);
  });

  test("ordinary files and folders are not ignored", () => {
    for (const [rel, isDir] of [
      ["README.md", false],
      ["src", true],
      ["src/main file ü.ts", false],
      [".github", true],
      [".gitignore", false],
      [IGNORE_FILE, false],
      ["node_modules.txt", false],
      ["my.git", true],
      ["swp", false],
    ] as const) {
      expect([rel, rules.ignores(rel, isDir)]).toEqual([rel, false]);
    }
  });

  test("a file named like an ignored folder is not ignored (the patterns are folder-only)", () => {
    expect(rules.ignores("node_modules", false)).toBe(false);
  });

  test("a file named .git is never synced either: it can point git at another folder (a worktree's gitdir)", () => {
    expect(rules.ignores(".git", false)).toBe(true);
  });
});

describe(".zyncignore", () => {
  test("patterns are read from the root's .zyncignore", () => {
    const rules = loadIgnoreRules(rootWith("*.log\nbuild/\n/top-only.txt\n# a comment\n"));
    expect(rules.ignores("a.log", false)).toBe(true);
    expect(rules.ignores("deep/x/a.log", false)).toBe(true);
    expect(rules.ignores("build", true)).toBe(true);
    expect(rules.ignores("build/out.js", false)).toBe(true);
    expect(rules.ignores("top-only.txt", false)).toBe(true);
    expect(rules.ignores("sub/top-only.txt", false)).toBe(false);
    expect(rules.ignores("# a comment", false)).toBe(false);
    expect(rules.ignores("a.txt", false)).toBe(false);
  });

  test("a .zyncignore in a subfolder applies to that folder only, relative to it", () => {
    const root = rootWith();
    mkdirSync(`${root}/sub`);
    writeFileSync(`${root}/sub/${IGNORE_FILE}`, "*.txt\n/anchored\n");
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("sub/a.txt", false)).toBe(true);
    expect(rules.ignores("sub/deep/b.txt", false)).toBe(true);
    expect(rules.ignores("sub/anchored", false)).toBe(true);
    expect(rules.ignores("sub/deep/anchored", false)).toBe(false);
    expect(rules.ignores("a.txt", false)).toBe(false);
  });

  test("'!' re-includes a file the .zyncignore itself ignored", () => {
    const rules = loadIgnoreRules(rootWith("*.log\n!keep.log\n"));
    expect(rules.ignores("drop.log", false)).toBe(true);
    expect(rules.ignores("keep.log", false)).toBe(false);
  });

  test("'!' re-includes a default ignore", () => {
    const rules = loadIgnoreRules(rootWith("!*.swp\n!.DS_Store\n"));
    expect(rules.ignores("x.swp", false)).toBe(false);
    expect(rules.ignores(".DS_Store", false)).toBe(false);
    expect(rules.ignores("x.swo", false)).toBe(true);
  });

  test("zync's temp folder stays ignored even when the .zyncignore re-includes it", () => {
    const rules = loadIgnoreRules(rootWith(`!${TEMP_DIR}/\n!${TEMP_DIR}\n`));
    expect(rules.ignores(TEMP_DIR, true)).toBe(true);
    expect(rules.ignores(`${TEMP_DIR}/x`, false)).toBe(true);
  });

  test("reload() picks up a changed, created or removed .zyncignore; without it the old rules stay", async () => {
    const root = rootWith("*.log\n");
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("a.log", false)).toBe(true);

    writeFileSync(`${root}/${IGNORE_FILE}`, "*.tmp\n");
    expect(rules.ignores("a.log", false)).toBe(true); // not re-read until reload()
    await rules.reload();
    expect(rules.ignores("a.log", false)).toBe(false);
    expect(rules.ignores("a.tmp", false)).toBe(true);

    rmSync(`${root}/${IGNORE_FILE}`);
    await rules.reload();
    expect(rules.ignores("a.tmp", false)).toBe(false);
    expect(rules.ignores("x.swp", false)).toBe(true); // defaults remain
  });

  test("reload() on a root that had no .zyncignore reads one created later", async () => {
    const root = rootWith();
    const rules = loadIgnoreRules(root);
    expect(rules.ignores("dist", true)).toBe(false);
    writeFileSync(`${root}/${IGNORE_FILE}`, "dist/\n");
    await rules.reload();
    expect(rules.ignores("dist", true)).toBe(true);
  });
});

describe("extra patterns", () => {
  test("extra patterns apply on top of defaults and the .zyncignore", () => {
    const rules = loadIgnoreRules(rootWith("*.log\n"), ["*.bak", "secrets/"]);
    expect(rules.ignores("a.bak", false)).toBe(true);
    expect(rules.ignores("x/secrets", true)).toBe(true);
    expect(rules.ignores("a.log", false)).toBe(true);
    expect(rules.ignores("x.swp", false)).toBe(true);
    expect(rules.ignores("a.txt", false)).toBe(false);
  });

  test("extra patterns come last, so they can re-include what the .zyncignore ignored", () => {
    const rules = loadIgnoreRules(rootWith("*.log\n"), ["!important.log"]);
    expect(rules.ignores("important.log", false)).toBe(false);
    expect(rules.ignores("other.log", false)).toBe(true);
  });

  test("extra patterns survive reload()", async () => {
    const root = rootWith();
    const rules = loadIgnoreRules(root, ["*.bak"]);
    writeFileSync(`${root}/${IGNORE_FILE}`, "*.log\n");
    await rules.reload();
    expect(rules.ignores("a.bak", false)).toBe(true);
    expect(rules.ignores("a.log", false)).toBe(true);
  });
});

describe(".git is never synced, whatever a .zyncignore says", () => {
  const rules = loadIgnoreRules(rootWith("!.git/\n!.git/**\n!**/.git\n"), ["!.git"]);

  test.each([
    [".git", true],
    [".git/config", false],
    [".git/hooks/post-checkout", false],
    ["sub/.git/HEAD", false],
    [".GIT/config", false],
    [".Git", true],
    [".github/workflows/ci.yml", false],
    ["not.git", false],
  ])("%s (a folder: %s)", (rel, isDir) => {
    const expected = !rel.startsWith(".github") && rel !== "not.git";
    expect(rules.ignores(rel, isDir)).toBe(expected);
  });

  test.each([
    [".git", true],
    ["a/.git/b", true],
    [".GIT", true],
    [".gitignore", false],
    [".github", false],
    ["git", false],
  ])("isInsideGitDir(%s) is %s", (rel, inside) => {
    expect(isInsideGitDir(rel)).toBe(inside);
  });
});

describe("could a new ignore file make more paths synced", () => {
  test.each([
    ["no file before or after", undefined, undefined, false],
    ["a new file with plain patterns", undefined, "build/\n*.log\n", false],
    ["a new file that re-includes", undefined, "!.git/\n", true],
    ["a pattern added", "build/\n", "build/\n*.log\n", false],
    ["a pattern removed", "build/\n*.log\n", "build/\n", true],
    ["the file deleted", "build/\n", undefined, true],
    ["an empty file deleted", "\n# only a comment\n", undefined, false],
    ["a negation added", "build/\n", "build/\n!build/keep\n", true],
    ["a negation kept, a pattern added", "a\n!a/b\n", "a\n!a/b\nc\n", false],
    ["only comments and blank lines change", "build/\n", "# build output\n\nbuild/\n", false],
    ["trailing spaces do not matter", "build/   \n", "build/\n", false],
    ["CRLF line ends", "build/\r\n", "build/\n", false],
    ["patterns reordered", "a\nb\n", "b\na\n", false],
  ])("%s", (_what, before, after, widens) => {
    expect(mayWidenIgnores(before, after)).toBe(widens);
  });
});

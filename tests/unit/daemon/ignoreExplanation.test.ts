import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { answerCheckIgnore } from "@zync/daemon";
import { loadIgnoreRules } from "@zync/node";
import { decodeFromClient, ErrorCode, MAX_CHECK_IGNORE_PATHS, ProtocolError, type CheckIgnore } from "@zync/protocol";
import { ensureGit, git, writeTree } from "../../helpers/gitRepo.js";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

beforeAll(() => ensureGit());
afterAll(() => removeTempDirs());

/**
 * A work tree whose root is its `app` folder, with a rule from every kind of source: an ignore file E serves, one
 * that ignores itself, one above the root, info/exclude, the user's excludes file, the command line, built-in.
 */
function everySource(): { top: string; root: string; excludes: string } {
  const top = tempDir("zync-explain-");
  const excludes = join(tempDir("zync-explain-home-"), "user-excludes");
  git(top, ["init", "-q", "-b", "main"]);
  git(top, ["config", "core.excludesFile", excludes]);
  writeTree(top, {
    ".gitignore": "*.above\n",
    ".git/info/exclude": "# E's private notes\n*.secret-local\n",
    "app/.gitignore": "*.log\n!keep.log\n",
    "app/private/.gitignore": ".gitignore\n*.hidden-pattern\n",
  });
  writeTree(excludes.slice(0, excludes.lastIndexOf("/")), { "user-excludes": "*.user-only\n" });
  return { top, root: join(top, "app"), excludes };
}

function ask(paths: { path: string; dir: boolean }[]): CheckIgnore {
  return { type: "CHECK_IGNORE", id: 7, root: "code", paths };
}

describe("CHECK_IGNORE answers", () => {
  test("give the pattern text only for ignore files E serves and the built-in list; other sources are named, never shown", () => {
    const { top, root, excludes } = everySource();
    const rules = loadIgnoreRules(root, ["*.cmdline-secret"]);
    const answer = answerCheckIgnore(
      ask(
        ["a.log", "keep.log", "x.above", "x.secret-local", "x.user-only", "x.cmdline-secret", "private/x.hidden-pattern", "x.swp", ".git/config", "src/main.c"].map((path) => ({ path, dir: false })),
      ),
      rules,
    );
    expect(answer).toMatchObject({ type: "IGNORE_CHECKED", id: 7, root: "code" });
    const by = new Map(answer.results.map((r) => [r.path, r]));
    expect(by.get("a.log")).toEqual({ path: "a.log", synced: false, decidedBy: "rule", rule: { source: "file", file: ".gitignore", line: 1, pattern: "*.log", negative: false } });
    expect(by.get("keep.log")).toEqual({ path: "keep.log", synced: true, decidedBy: "rule", rule: { source: "file", file: ".gitignore", line: 2, pattern: "!keep.log", negative: true } });
    expect(by.get("x.above")?.rule).toEqual({ source: "above-root", line: 1, negative: false });
    expect(by.get("x.secret-local")?.rule).toEqual({ source: "info-exclude", line: 2, negative: false });
    expect(by.get("x.user-only")?.rule).toEqual({ source: "excludes-file", line: 1, negative: false });
    expect(by.get("x.cmdline-secret")?.rule).toEqual({ source: "command-line", line: 1, negative: false });
    expect(by.get("private/x.hidden-pattern")?.rule).toEqual({ source: "unserved-file", file: "private/.gitignore", line: 2, negative: false });
    expect(by.get("x.swp")).toMatchObject({ synced: false, rule: { source: "built-in", pattern: "*.swp" } });
    expect(by.get(".git/config")).toMatchObject({ synced: false, rule: { source: "built-in", pattern: ".git" } });
    expect(by.get("src/main.c")).toEqual({ path: "src/main.c", synced: true, decidedBy: "none" });
    // Nothing of E's own that R cannot read: no absolute path, no text of an unserved source.
    const wire = JSON.stringify(answer);
    for (const secret of [top, excludes, "*.secret-local", "*.user-only", "*.cmdline-secret", "*.hidden-pattern", "*.above", "private notes"]) {
      expect([secret, wire.includes(secret)]).toEqual([secret, false]);
    }
  });

  test("say git tracks a path whatever the patterns say, and judge a folder as a folder", () => {
    const root = tempDir("zync-explain-");
    git(root, ["init", "-q", "-b", "main"]);
    writeTree(root, { ".gitignore": "out/\nbuild\n", "out/t.bin": "x" });
    git(root, ["add", "-f", "out/t.bin"]);
    const rules = loadIgnoreRules(root);
    const answer = answerCheckIgnore(ask([{ path: "out/t.bin", dir: false }, { path: "out", dir: true }, { path: "gen", dir: true }, { path: "x/build", dir: true }]), rules);
    expect(answer.results.map((r) => [r.path, r.synced, r.decidedBy])).toEqual([
      ["out/t.bin", true, "tracked"],
      ["out", true, "tracked"],
      ["gen", true, "none"],
      ["x/build", false, "rule"],
    ]);
  });

  test.each([["../outside"], ["a/../../b"], ["/etc/passwd"], [""], ["a//b"], ["a\\b"]])("refuse the whole request with BAD_PATH for the path %j, as GET_FILE would", (bad) => {
    const root = tempDir("zync-explain-");
    const rules = loadIgnoreRules(root);
    let caught: unknown;
    try {
      answerCheckIgnore(ask([{ path: "fine.txt", dir: false }, { path: bad, dir: false }]), rules);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).code).toBe(ErrorCode.BadPath);
  });

  test("a request may name at most MAX_CHECK_IGNORE_PATHS paths, and at least one", () => {
    const paths = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, dir: false }));
    expect(decodeFromClient(JSON.stringify(ask(paths(MAX_CHECK_IGNORE_PATHS)))).ok).toBe(true);
    expect(decodeFromClient(JSON.stringify(ask(paths(MAX_CHECK_IGNORE_PATHS + 1)))).ok).toBe(false);
    expect(decodeFromClient(JSON.stringify(ask([]))).ok).toBe(false);
  });
});

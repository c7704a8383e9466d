import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, runClientOnce, spawnBin, startTestDaemon } from "../helpers/bins.js";
import { allPaths, ensureGit, git, gitAnswers, gitIgnored, ignoreRichRepo } from "../helpers/gitRepo.js";
import { inotifyWatches } from "../helpers/inotifyWatches.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { pushUpstream, showSession, stagedSessionId } from "../helpers/upstream.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

describe("git ignores", () => {
  test("a daemon on a git work tree serves exactly what git does not ignore, and follows a nested .gitignore edited while it runs", async () => {
    const e = tempDir("zync-git-e-");
    const r = `${tempDir()}/target`;
    ignoreRichRepo(e, join(tempDir(), "user-excludes"));
    const skip = (ignored: Set<string>) => (rel: string) => rel === ".git" || ignored.has(rel);
    const before = gitIgnored(e);
    expect(before.has("sub/deep/note.txt")).toBe(true);
    expect(before.size).toBeGreaterThan(10);

    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e, skip(before)));

      // A negation added to a nested .gitignore: the path it re-includes is indexed at once, a new ignored one is not.
      writeFileSync(`${e}/sub/deep/.gitignore`, "*.txt\n!wanted.txt\n!note.txt\n");
      writeFileSync(`${e}/late.o`, "object\n");
      writeFileSync(`${e}/zz-marker.md`, "after the edit\n");
      await waitFor(
        async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && existsSync(`${r}/zz-marker.md`) && existsSync(`${r}/sub/deep/note.txt`),
        "sub/deep/note.txt and the marker on R",
        20_000,
        100,
      );
      const after = gitIgnored(e);
      expect(after.has("sub/deep/note.txt")).toBe(false);
      expect(after.has("late.o")).toBe(true);
      expect(snapshotTree(r)).toEqual(snapshotTree(e, skip(after)));
    } finally {
      await daemon.stop();
    }
  });

  test("check-ignore says for every path what git check-ignore -v says, with the file and line of the deciding rule", async () => {
    const e = tempDir("zync-git-e-");
    ignoreRichRepo(e, join(tempDir(), "user-excludes"));
    const outside = tempDir();
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const run = async (args: string[], cwd: string): Promise<{ code: number | string; stdout: string; stderr: string }> => {
        const s = spawnBin(BIN.daemon, ["check-ignore", "--db", daemon.db, ...args], {}, cwd);
        const code = await s.exited;
        return { code, stdout: s.stdout(), stderr: s.stderr() };
      };
      // Relative to the current folder, like git.
      const some = await run(["b.log", "../build/out.js", `${e}/src/main.c`, "../a.local", "deep"], join(e, "sub"));
      expect(some.stderr).toBe("");
      expect(some.code).toBe(0);
      expect(some.stdout.split("\n")).toEqual([
        "synced   b.log  (code:sub/b.log)  sub/.gitignore:1:!*.log",
        "ignored  ../build/out.js  (code:build/out.js)  .gitignore:3:build/",
        `synced   ${e}/src/main.c  (code:src/main.c)  no rule matches it`,
        "ignored  ../a.local  (code:a.local)  .git/info/exclude:2:*.local",
        "synced   deep  (code:sub/deep)  no rule matches it",
        "",
      ]);

      // Every path of the tree, against git.
      const paths = allPaths(e).map((p) => p.rel);
      const all = await run(["--json", ...paths], e);
      expect(all.code).toBe(0);
      const checks = JSON.parse(all.stdout) as { path: string; synced: boolean; verdict: { rule?: { file: string; line: number } } }[];
      const fromGit = gitAnswers(e, paths);
      expect(checks.map((c) => [c.path, !c.synced, c.verdict.rule?.file, c.verdict.rule?.line])).toEqual(
        paths.map((p) => [p, fromGit.get(p)?.ignored, fromGit.get(p)?.file, fromGit.get(p)?.line]),
      );

      // A file git tracks is synced whatever the patterns say, and says so.
      git(e, ["add", "-f", "main.o"]);
      const tracked = await run(["main.o"], e);
      expect(tracked.stdout).toBe("synced   main.o  (code:main.o)  git tracks it\n");

      // A path outside every root: one sentence, exit 2.
      const bad = await run([join(outside, "x.txt")], e);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
      expect(bad.stderr).toContain("is not inside a root this daemon serves");
    } finally {
      await daemon.stop();
    }
  });

  test("a folder let in by a new .zyncignore is watched from then on, and a file git starts tracking is synced", async () => {
    const e = tempDir("zync-git-e-");
    const r = `${tempDir()}/target`;
    ignoreRichRepo(e, join(tempDir(), "user-excludes"));
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--verbose"] });
    const verifications = (): number => (daemon.stdout() + daemon.stderr()).split("recent changes verified").length - 1;
    const pullUntil = async (what: string, ok: () => boolean): Promise<void> => {
      await waitFor(async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && ok(), what, 20_000, 100);
    };
    try {
      await pullUntil("the first sync", () => existsSync(`${r}/src/main.c`));
      expect(existsSync(`${r}/build`)).toBe(false);
      expect(existsSync(`${r}/main.o`)).toBe(false);

      // .zyncignore wins over the .gitignore beside it.
      const before = verifications();
      writeFileSync(`${e}/.zyncignore`, "!build/\n");
      await pullUntil("build/out.js on R", () => existsSync(`${r}/build/out.js`));
      // Written once the daemon has verified the folders of the change: only a watch on build/ (placed when the
      // rules changed) reports it before the next rescan.
      await waitFor(() => verifications() > before, "the daemon's verification of the recent changes", 20_000, 50);
      writeFileSync(`${e}/build/later.js`, "later\n");
      await pullUntil("build/later.js on R", () => existsSync(`${r}/build/later.js`));

      // git add -f: tracked files are synced whatever the patterns say.
      git(e, ["add", "-f", "main.o"]);
      await pullUntil("main.o on R", () => existsSync(`${r}/main.o`));
      expect(existsSync(`${r}/sub/other.o`)).toBe(false);
    } finally {
      await daemon.stop();
    }
  });

  test("R's push upstream leaves out what the synced .gitignore files leave out, so E does not refuse it", async () => {
    const e = tempDir("zync-git-e-");
    const r = `${tempDir()}/target`;
    ignoreRichRepo(e, join(tempDir(), "user-excludes"));
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      await waitFor(async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && existsSync(`${r}/sub/.gitignore`), "the first sync", 20_000, 100);
      // R builds: output that E's .gitignore files leave out, next to a real edit.
      mkdirSync(`${r}/build`, { recursive: true });
      writeFileSync(`${r}/build/r-out.js`, "built on R\n");
      writeFileSync(`${r}/sub/deep/r-note.txt`, "ignored by sub/deep/.gitignore\n");
      writeFileSync(`${r}/src/main.c`, "edited on R\n");
      const push = await pushUpstream(daemon, clientDb, [`code:${r}`]);
      expect(push.stderr).toBe("");
      expect(push.code).toBe(0);
      const shown = await showSession(daemon.db, stagedSessionId(push));
      expect(shown.changes.map((c) => c.path)).toEqual(["src/main.c"]);
    } finally {
      await daemon.stop();
    }
  });

  const canCount = existsSync(`/proc/${process.pid}/fdinfo`);
  (canCount ? test : test.skip)("a folder the .gitignore leaves out gets no watches; when the .gitignore lets it in, its folders are watched, and unwatched again when it leaves it out", async () => {
    const e = tempDir("zync-git-e-");
    git(e, ["init", "-q", "-b", "main"]);
    writeFileSync(`${e}/.gitignore`, "target/\n");
    for (const d of ["src", "src/a", "docs"]) mkdirSync(`${e}/${d}`, { recursive: true });
    writeFileSync(`${e}/src/a/main.rs`, "fn main() {}\n");
    for (let i = 0; i < 100; i++) {
      mkdirSync(`${e}/target/debug/deps${i}`, { recursive: true });
      writeFileSync(`${e}/target/debug/deps${i}/lib.rlib`, "x");
    }
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const pid = daemon.proc.pid!;
      // The root, src, src/a and docs, and the .git folder itself (feature git looks there for git's markers):
      // nothing in target, nothing below .git.
      const base = 4 + 1;
      await waitFor(() => (inotifyWatches(pid) ?? 0) >= base, "the daemon's watches");
      expect(inotifyWatches(pid)).toBe(base);
      writeFileSync(`${e}/.gitignore`, "*.tmp\n");
      // target, target/debug and its 100 folders.
      await waitFor(() => inotifyWatches(pid) === base + 102, "watches on target's folders", 20_000, 50);
      writeFileSync(`${e}/.gitignore`, "target/\n");
      await waitFor(() => inotifyWatches(pid) === base, "target's watches removed", 20_000, 50);
    } finally {
      await daemon.stop();
    }
  });
});

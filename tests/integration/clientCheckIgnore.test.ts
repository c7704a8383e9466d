import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { appendFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MAX_CHECK_IGNORE_PATHS } from "@zync/protocol";
import { BIN, runClientOnce, spawnBin, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { allPaths, ensureGit, gitAnswers, ignoreRichRepo } from "../helpers/gitRepo.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

/** A control sequence a hostile ignore file on E could hold, to repaint R's terminal. */
const ESC = "\x1b]0;owned\x07";

type Pair = { e: string; r: string; excludes: string; daemon: TestDaemon; clientDb: string };

/** E: a git work tree served by a real daemon; R: a client's copy of it after one pull. */
async function servedRepo(): Promise<Pair> {
  const e = tempDir("zync-git-e-");
  const excludes = join(tempDir(), "user-excludes");
  ignoreRichRepo(e, excludes);
  appendFileSync(join(e, "sub/.gitignore"), `evil${ESC}*\n`);
  writeFileSync(join(e, `sub/evil${ESC}x`), "x");
  const r = `${tempDir()}/target`;
  const clientDb = `${tempDir()}/client.db`;
  const daemon = await startTestDaemon([`code:${e}`]);
  const pulled = await runClientOnce(daemon, clientDb, [`code:${r}`]);
  expect([pulled.code, pulled.stderr]).toEqual([0, ""]);
  return { e, r, excludes, daemon, clientDb };
}

async function clientCheck(p: Pair, paths: readonly string[], cwd: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}) {
  const args = ["check-ignore", ...paths, "--server", p.daemon.url, "--token-file", p.daemon.tokenFile, "--db", p.clientDb, "--dirs", `code:${p.r}`, ...extra];
  const s = spawnBin(BIN.client, args, env, cwd);
  const code = await s.exited;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

type Checked = { path: string; rel: string; e: { synced?: boolean; unknown?: string; answer?: { rule?: { source: string; file?: string; line: number } } }; r: { offered: boolean } };

describe("zync-client check-ignore", () => {
  let p: Pair;
  beforeAll(async () => {
    p = await servedRepo();
  });
  afterAll(async () => {
    await p?.daemon.stop();
  });

  test("says for each path, relative to the current folder or absolute, what E decided and by which rule, and what R would push", async () => {
    const out = await clientCheck(p, ["b.log", "../build/out.js", `${p.r}/src/main.c`, "../a.local", "../c.user-excluded", "deep"], join(p.r, "sub"));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout.split("\n")).toEqual([
      "E: synced   b.log  (code:sub/b.log)  sub/.gitignore:1:!*.log",
      "R: offered  b.log  (code:sub/b.log)  sub/.gitignore:1:!*.log",
      "E: ignored  ../build/out.js  (code:build/out.js)  .gitignore:3:build/",
      "R: ignored  ../build/out.js  (code:build/out.js)  .gitignore:3:build/",
      `E: synced   ${p.r}/src/main.c  (code:src/main.c)  no rule matches it`,
      `R: offered  ${p.r}/src/main.c  (code:src/main.c)  no rule matches it`,
      // R has no .git/info/exclude and no excludes file: E's are named, their patterns never shown.
      "E: ignored  ../a.local  (code:a.local)  E's .git/info/exclude line 2",
      "R: offered  ../a.local  (code:a.local)  no rule matches it",
      "E: ignored  ../c.user-excluded  (code:c.user-excluded)  E's core.excludesFile line 1",
      "R: offered  ../c.user-excluded  (code:c.user-excluded)  no rule matches it",
      "E: synced   deep  (code:sub/deep)  no rule matches it",
      "R: offered  deep  (code:sub/deep)  no rule matches it",
      "",
    ]);
    expect(out.stdout).not.toContain(p.e);
    expect(out.stdout).not.toContain(p.excludes);
    expect(out.stdout).not.toContain("*.local");
    expect(out.stdout).not.toContain("*.user-excluded");
  });

  test("E's verdict and rule agree with git check-ignore -v for every path of the tree, asked in more than one request", async () => {
    const paths = allPaths(p.e);
    const fromGit = gitAnswers(
      p.e,
      paths.map((x) => x.rel),
    );
    // Each path several times over, so the answer takes more than one CHECK_IGNORE.
    const asked = [...paths, ...paths, ...paths, ...paths, ...paths, ...paths].map((x) => (x.isDir ? `${p.r}/${x.rel}/` : `${p.r}/${x.rel}`));
    expect(asked.length).toBeGreaterThan(MAX_CHECK_IGNORE_PATHS);
    const out = await clientCheck(p, asked, p.r, ["--json"]);
    expect(out.code).toBe(0);
    const checks = JSON.parse(out.stdout) as Checked[];
    expect(checks).toHaveLength(asked.length);
    const where: Record<string, string> = { "info-exclude": join(p.e, ".git/info/exclude"), "excludes-file": p.excludes };
    for (const c of checks) {
      const git = fromGit.get(c.rel);
      const rule = c.e.answer?.rule;
      const file = rule === undefined ? undefined : rule.file !== undefined ? resolve(p.e, rule.file) : where[rule.source];
      expect([c.rel, c.e.synced, file, rule?.line]).toEqual([c.rel, !git?.ignored, git?.file, git?.line]);
    }
  });

  test("what E says is escaped before it reaches R's terminal", async () => {
    const out = await clientCheck(p, [`sub/evil${ESC}x`], p.r);
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(out.stdout).toContain("E: ignored  sub/evil\\x1b]0;owned\\x07x  (code:sub/evil\\x1b]0;owned\\x07x)  sub/.gitignore:6:evil\\x1b]0;owned\\x07*");
  });

  test("with feature explain not agreed, E's side is said to be unexplained and R's side is still answered", async () => {
    const out = await clientCheck(p, ["build/out.js"], p.r, [], { ZYNC_FEATURES: "" });
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout.split("\n")).toEqual([
      "E: unknown  build/out.js  (code:build/out.js)  E's side cannot be explained by this daemon: the connection did not agree feature explain (the daemon may be older than this client, or ZYNC_FEATURES leaves it out)",
      "R: ignored  build/out.js  (code:build/out.js)  .gitignore:3:build/",
      "",
    ]);
  });

  test("a path outside every root of the client is one sentence and exit 2", async () => {
    const out = await clientCheck(p, ["src/main.c", "/etc/passwd"], p.r);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr.trim().split("\n")).toHaveLength(1);
    expect(out.stderr).toContain("/etc/passwd is not inside a root of this client");
  });

  test("the daemon refuses a CHECK_IGNORE that escapes the root, names too many paths or an unknown root, or was not agreed", async () => {
    const token = readToken(p.daemon.tokenFile);
    const sock = await RawSocket.open(p.daemon.url, token, { versions: [4], features: ["explain"] });
    try {
      expect((await sock.hello()).features).toEqual(["explain"]);
      const escape = await sock.exchange({ type: "CHECK_IGNORE", id: 1, root: "code", paths: [{ path: "src/main.c", dir: false }, { path: "../../etc/passwd", dir: false }] });
      expect(escape.reply).toMatchObject({ type: "ERROR", id: 1, code: "BAD_PATH" });
      expect(JSON.stringify(escape.reply)).not.toContain(p.e);
      const many = Array.from({ length: MAX_CHECK_IGNORE_PATHS + 1 }, (_, i) => ({ path: `f${i}`, dir: false }));
      expect((await sock.exchange({ type: "CHECK_IGNORE", id: 2, root: "code", paths: many })).reply).toMatchObject({ type: "ERROR", code: "BAD_MESSAGE" });
      expect((await sock.exchange({ type: "CHECK_IGNORE", id: 3, root: "nope", paths: [{ path: "a", dir: false }] })).reply).toMatchObject({ type: "ERROR", id: 3, code: "UNKNOWN_ROOT" });
      // The connection is still served.
      expect((await sock.exchange({ type: "CHECK_IGNORE", id: 4, root: "code", paths: [{ path: "a.log", dir: false }] })).reply).toMatchObject({
        type: "IGNORE_CHECKED",
        id: 4,
        results: [{ path: "a.log", synced: false, decidedBy: "rule", rule: { source: "file", file: ".gitignore", line: 1, pattern: "*.log" } }],
      });
    } finally {
      await sock.close();
    }
    // A version-3 connection cannot agree the feature, so the request is refused there.
    const old = await RawSocket.open(p.daemon.url, token, { versions: [3], features: ["explain"] });
    try {
      expect((await old.hello()).features).toEqual([]);
      expect((await old.exchange({ type: "CHECK_IGNORE", id: 1, root: "code", paths: [{ path: "a.log", dir: false }] })).reply).toMatchObject({ type: "ERROR", id: 1, code: "BAD_MESSAGE" });
    } finally {
      await old.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BIN, runBin, spawnBin, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { freePort, startDaemonOnPort } from "../helpers/daemonProc.js";
import { ensureGit, git, writeTree } from "../helpers/gitRepo.js";
import { eventsOf, type JsonEvent } from "../helpers/jsonLines.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

const READER = fileURLToPath(new URL("../helpers/treeReader.js", import.meta.url));

/** Files of branch main, and of branch feature: 300 changed, 60 deleted, 60 added in new folders, 3 larger files changed. */
function branches(): { main: Record<string, string>; feature: Record<string, string> } {
  const main: Record<string, string> = {};
  const feature: Record<string, string> = {};
  for (let i = 0; i < 420; i++) {
    const path = `src/d${i % 12}/f${i}.txt`;
    main[path] = `main ${i}\n`;
    if (i < 300) feature[path] = `feature ${i}\n`;
    else if (i < 360) feature[path] = main[path];
  }
  for (let i = 0; i < 60; i++) feature[`added/n${i % 5}/g${i}.txt`] = `feature only ${i}\n`;
  // Larger than a push carries: fetched with GET_FILE, which makes the fetch take a while.
  for (let i = 0; i < 3; i++) {
    main[`big/b${i}.txt`] = `main ${i}\n`.repeat(60_000);
    feature[`big/b${i}.txt`] = `feature ${i}\n`.repeat(60_000);
  }
  return { main, feature };
}

/** A repository on E with both branches committed and main checked out. */
function twoBranchRepo(e: string, trees: { main: Record<string, string>; feature: Record<string, string> }): void {
  git(e, ["init", "-q", "-b", "main"]);
  git(e, ["config", "user.email", "t@example.com"]);
  git(e, ["config", "user.name", "t"]);
  writeTree(e, trees.main);
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "main"]);
  git(e, ["checkout", "-q", "-b", "feature"]);
  for (const p of Object.keys(trees.main)) if (!(p in trees.feature)) rmSync(`${e}/${p}`);
  writeTree(e, trees.feature);
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "feature"]);
  git(e, ["checkout", "-q", "main"]);
}

/** True when `r` holds exactly the files of `tree` (zync's temp folder aside). */
function holds(r: string, tree: Record<string, string>): boolean {
  return Object.entries(tree).every(([p, c]) => existsSync(`${r}/${p}`) && readFileSync(`${r}/${p}`, "utf8") === c);
}

const ms = (ev: JsonEvent): number => Date.parse(ev.time);

/** `zync-daemon status --json` of a daemon's database. */
async function daemonStatus(db: string): Promise<{ head: number; roots: { name: string; git?: { branch: string | null; waitingForGit: { reason: string } | null } }[] }> {
  const out = await runBin(BIN.daemon, ["status", "--db", db, "--json"]);
  return JSON.parse(out.stdout) as Awaited<ReturnType<typeof daemonStatus>>;
}

/** The `batch` events of a client's --json output after the `from`-th event. */
function batchPhases(stdout: string, from = 0): JsonEvent[] {
  return eventsOf(stdout)
    .slice(from)
    .filter((ev) => ev.event === "batch");
}

/** A small repository on E: `n` files on main. */
function smallRepo(e: string, n: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`f${i}.txt`] = `v1 ${i}\n`;
  git(e, ["init", "-q", "-b", "main"]);
  git(e, ["config", "user.email", "t@example.com"]);
  git(e, ["config", "user.name", "t"]);
  writeTree(e, files);
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "v1"]);
  return files;
}

describe("git operations on E land on R as one batch", () => {
  test("a checkout between branches that differ in hundreds of files: a reader on R sees the old tree or the new one, and a mixed one only while the batch's renames run", async () => {
    // The reader (treeReader.ts, its own process) reads R's whole tree again and again and classifies each reading
    // as old, new or mixed, with when it began and ended. The client reports, as --json events, when every file of
    // the batch was in temp files on R (`fetched`), and the moments just before its first rename (`placing`) and
    // just after its last (`placed`). A mixed reading is only allowed if it overlaps that rename window; a client
    // that placed files while it was still fetching others (as it does outside a batch) gives mixed readings while
    // it fetches, and no `batch` events at all.
    const trees = branches();
    const e = tempDir("zync-gitbatch-e-");
    twoBranchRepo(e, trees);
    const r = `${tempDir()}/r`;
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--json", "--interval", "600"]);
    const expected = `${tempDir()}/expected.json`;
    writeFileSync(expected, JSON.stringify({ old: trees.main, new: trees.feature }));
    try {
      await waitFor(() => holds(r, trees.main), "R holding branch main");
      await waitFor(() => eventsOf(client.stdout()).some((ev) => ev.event === "git" && ev.branch === "main"), "E's branch main heard on R");
      const reader = spawn(process.execPath, [READER, r, expected], { stdio: ["pipe", "pipe", "inherit"] });
      let samples = "";
      reader.stdout.on("data", (d: Buffer) => (samples += d.toString()));
      const readings = (): { s: number; e: number; kind: string }[] => samples.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { s: number; e: number; kind: string });
      try {
        await waitFor(() => readings().filter((x) => x.kind === "old").length >= 3, "the reader seeing the old tree");
        const before = eventsOf(client.stdout()).length;
        git(e, ["checkout", "-q", "feature"]);
        await waitFor(() => holds(r, trees.feature) && readings().some((x) => x.kind === "new"), "R holding branch feature, as the reader sees");
        await waitFor(() => eventsOf(client.stdout()).slice(before).some((ev) => ev.event === "batch" && ev.phase === "placed"), "the batch placed");
      } finally {
        reader.stdin.end();
        await new Promise((done) => reader.once("close", done));
      }
      const events = eventsOf(client.stdout());
      const batch = events.filter((ev) => ev.event === "batch" && ev.root === "code");
      // One batch, in this order, with every change of the checkout in it.
      expect(batch.map((ev) => ev.phase)).toEqual(["fetched", "placing", "placed"]);
      expect(batch[0]!.changes as number).toBeGreaterThanOrEqual(300 + 60 + 60 + 3);
      const [placing, placed] = [ms(batch[1]!), ms(batch[2]!)];
      const all = readings();
      const mixed = all.filter((x) => x.kind === "mixed");
      for (const m of mixed) expect({ ...m, overlapsRenames: m.s <= placed && m.e >= placing }).toEqual({ ...m, overlapsRenames: true });
      // The reader was reading while the batch was fetched (so it would have caught placements then), and saw both trees.
      const pass = events.filter((ev) => ev.event === "pass-started" && ms(ev) <= placing).pop();
      expect(pass).toBeDefined();
      expect(all.filter((x) => x.kind === "old" && x.s >= ms(pass!) && x.e <= placing).length).toBeGreaterThan(0);
      expect(all[all.length - 1]!.kind).toBe("new");
      // E's branch as the live client heard it, in its status.
      await waitFor(() => eventsOf(client.stdout()).some((ev) => ev.event === "git" && ev.branch === "feature"), "E's branch feature heard on R");
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("a rebase stopped half way holds recording (status says waiting for git on both sides) and what it did lands as one batch when it ends", async () => {
    const e = tempDir("zync-gitbatch-rebase-");
    const files = smallRepo(e, 40);
    git(e, ["checkout", "-q", "-b", "topic"]);
    writeTree(e, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}.txt`, `topic one ${i}\n`])));
    git(e, ["commit", "-q", "-am", "topic one"]);
    writeTree(e, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${20 + i}.txt`, `topic two ${i}\n`])));
    git(e, ["commit", "-q", "-am", "topic two"]);
    git(e, ["checkout", "-q", "main"]);
    writeTree(e, { "m.txt": "from main\n" });
    git(e, ["add", "m.txt"]);
    git(e, ["commit", "-q", "-m", "main moves on"]);
    git(e, ["checkout", "-q", "topic"]);
    expect(Object.keys(files)).toHaveLength(40);

    const r = `${tempDir()}/r`;
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = startClient(daemon.url, daemon.tokenFile, clientDb, [`code:${r}`], ["--json", "--interval", "600"]);
    const clientStatus = async (): Promise<string> => (await runBin(BIN.client, ["status", "--db", clientDb, "--server", daemon.url, "--token-file", daemon.tokenFile])).stdout;
    try {
      await waitFor(() => existsSync(`${r}/f39.txt`) && readFileSync(`${r}/f39.txt`, "utf8") === "topic two 19\n", "R holding topic");
      await waitFor(async () => /git on E: branch topic, commit [0-9a-f]{12}/.test(await clientStatus()), "the client's status showing E's branch topic");
      const from = eventsOf(client.stdout()).length;
      // Stops after the first commit, as `edit` does: the work tree holds main, then topic's first commit.
      git(e, ["-c", "sequence.editor=sed -i 1s/^pick/edit/", "rebase", "-q", "-i", "main"]);
      expect(existsSync(`${e}/.git/rebase-merge`)).toBe(true);
      writeTree(e, { "f0.txt": "edited during the rebase\n" });
      const waiting = await waitFor(async () => (await daemonStatus(daemon.db)).roots[0]?.git?.waitingForGit, "the daemon's status saying it waits for git");
      expect(waiting.reason).toBe("a rebase is in progress");
      expect((await runBin(BIN.daemon, ["status", "--db", daemon.db])).stdout).toMatch(/git: detached HEAD, commit [0-9a-f]{12}; waiting for git since .* \(a rebase is in progress\)/);
      await waitFor(async () => /git on E: detached HEAD, .*waiting for git since .*\(a rebase is in progress\)/.test(await clientStatus()), "the client's status saying E waits for git");
      // Half of the rebase is done on E, and none of it reached R.
      expect(readFileSync(`${e}/f39.txt`, "utf8")).toBe("v1 39\n");
      expect(readFileSync(`${r}/f39.txt`, "utf8")).toBe("topic two 19\n");
      expect(existsSync(`${r}/m.txt`)).toBe(false);
      git(e, ["add", "f0.txt"]);
      git(e, ["-c", "core.editor=true", "rebase", "--continue"]);
      await waitFor(() => existsSync(`${r}/m.txt`) && readFileSync(`${r}/f0.txt`, "utf8") === "edited during the rebase\n", "the rebase's result on R");
      await waitFor(() => eventsOf(client.stdout()).slice(from).some((ev, i, all) => ev.event === "pass-finished" && all.slice(0, i).some((b) => b.event === "batch" && b.phase === "placed")), "the batch's pass finished");
      const after = eventsOf(client.stdout()).slice(from);
      // Exactly one pass wrote anything since the rebase began: the batch's.
      expect(after.filter((ev) => ev.event === "pass-finished" && ((ev.written as number) > 0 || (ev.deleted as number) > 0))).toHaveLength(1);
      expect(batchPhases(client.stdout(), from).map((ev) => ev.phase)).toEqual(["fetched", "placing", "placed"]);
      expect(readFileSync(`${r}/f39.txt`, "utf8")).toBe("topic two 19\n");
      expect((await daemonStatus(daemon.db)).roots[0]?.git).toMatchObject({ branch: "topic", waitingForGit: null });
      await waitFor(async () => /git on E: branch topic, commit [0-9a-f]{12} \(as heard/.test(await clientStatus()), "the client's status without the wait");
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("a hold has a ceiling: past --git-wait the daemon says so and records anyway, and goes on recording while git stays busy", async () => {
    const e = tempDir("zync-gitbatch-ceiling-");
    smallRepo(e, 5);
    const r = `${tempDir()}/r`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--git-wait", "1"] });
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--json", "--interval", "600"]);
    try {
      await waitFor(() => existsSync(`${r}/f4.txt`), "R holding the repository");
      // A git that never finishes: its lock stays.
      writeFileSync(`${e}/.git/index.lock`, "");
      writeTree(e, { "f1.txt": "during the lock\n" });
      await waitFor(() => /code: git has been busy for 1 s \(git holds the index lock\); recording its changes now without waiting longer/.test(daemon.stderr()), "the daemon saying it records anyway");
      await waitFor(() => readFileSync(`${r}/f1.txt`, "utf8") === "during the lock\n", "the change on R");
      expect(existsSync(`${e}/.git/index.lock`)).toBe(true);
      // While the same lock stays, changes are recorded as they come.
      writeTree(e, { "f2.txt": "after the ceiling\n" });
      await waitFor(() => readFileSync(`${r}/f2.txt`, "utf8") === "after the ceiling\n", "a later change on R");
      expect((await daemonStatus(daemon.db)).roots[0]?.git?.waitingForGit).toBeNull();
    } finally {
      rmSync(`${e}/.git/index.lock`, { force: true });
      await client.stop();
      await daemon.stop();
    }
  });

  test("a daemon stopped during a hold records what changed meanwhile when it starts again: nothing is lost, and it comes as one batch", async () => {
    const e = tempDir("zync-gitbatch-restart-");
    smallRepo(e, 5);
    const r = `${tempDir()}/r`;
    const state = tempDir();
    const port = await freePort();
    const tokenFile = `${state}/token`;
    writeFileSync(tokenFile, "a-token-for-the-restart-test\n", { mode: 0o600 });
    let daemon: TestDaemon = await startDaemonOnPort(port, [`code:${e}`], { db: `${state}/sync.db`, tokenFile });
    const client = startClient(daemon.url, tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--json", "--interval", "600"]);
    try {
      await waitFor(() => existsSync(`${r}/f4.txt`), "R holding the repository");
      writeFileSync(`${e}/.git/index.lock`, "");
      writeTree(e, { "f1.txt": "changed while git held its lock\n", "new/c.txt": "made while git held its lock\n" });
      await waitFor(async () => (await daemonStatus(daemon.db)).roots[0]?.git?.waitingForGit, "the daemon waiting for git");
      const from = eventsOf(client.stdout()).length;
      daemon.proc.kill("SIGKILL");
      await daemon.exited;
      rmSync(`${e}/.git/index.lock`);
      expect(existsSync(`${r}/new/c.txt`)).toBe(false);
      daemon = await startDaemonOnPort(port, [`code:${e}`], { db: `${state}/sync.db`, tokenFile });
      await waitFor(() => existsSync(`${r}/new/c.txt`) && readFileSync(`${r}/f1.txt`, "utf8") === "changed while git held its lock\n", "the changes on R");
      await waitFor(() => batchPhases(client.stdout(), from).length >= 3, "the batch placed");
      expect(batchPhases(client.stdout(), from).map((ev) => ev.phase)).toEqual(["fetched", "placing", "placed"]);
      expect((await daemonStatus(daemon.db)).roots[0]?.git?.waitingForGit).toBeNull();
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("a checkout that turns folders into files and removes others lands as one batch with no conflict: R holds E's files and no leftover folder", async () => {
    const e = tempDir("zync-gitbatch-types-");
    smallRepo(e, 3);
    git(e, ["checkout", "-q", "-b", "folders"]);
    writeTree(e, { "p/inside.txt": "in a folder\n", "q/r/deep.txt": "deep\n", "gone/a.txt": "a\n", "gone/sub/b.txt": "b\n" });
    git(e, ["add", "-A"]);
    git(e, ["commit", "-q", "-m", "folders"]);
    git(e, ["checkout", "-q", "-b", "files", "main"]);
    writeTree(e, { p: "now a file\n", q: "q is a file\n" });
    git(e, ["add", "-A"]);
    git(e, ["commit", "-q", "-m", "files"]);
    git(e, ["checkout", "-q", "folders"]);
    const r = `${tempDir()}/r`;
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = startClient(daemon.url, daemon.tokenFile, clientDb, [`code:${r}`], ["--json", "--interval", "600"]);
    try {
      await waitFor(() => existsSync(`${r}/gone/sub/b.txt`) && existsSync(`${r}/p/inside.txt`), "R holding the folders");
      const from = eventsOf(client.stdout()).length;
      git(e, ["checkout", "-q", "files"]);
      await waitFor(() => batchPhases(client.stdout(), from).some((ev) => ev.phase === "placed") && eventsOf(client.stdout()).slice(from).some((ev) => ev.event === "pass-finished"), "the batch placed");
      expect(eventsOf(client.stdout()).filter((ev) => ev.event === "conflict")).toEqual([]);
      expect(readFileSync(`${r}/p`, "utf8")).toBe("now a file\n");
      expect(readFileSync(`${r}/q`, "utf8")).toBe("q is a file\n");
      expect(existsSync(`${r}/gone`)).toBe(false);
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("without feature git (a client that does not offer it) sync behaves as before: the checkout arrives, with no batch and no git state on R", async () => {
    const e = tempDir("zync-gitbatch-off-");
    smallRepo(e, 30);
    git(e, ["checkout", "-q", "-b", "other"]);
    writeTree(e, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, `other ${i}\n`])));
    git(e, ["commit", "-q", "-am", "other"]);
    git(e, ["checkout", "-q", "main"]);
    const r = `${tempDir()}/r`;
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = spawnBin(BIN.client, ["--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`, "--json", "--interval", "600"], { ZYNC_FEATURES: "delta,push,compress" });
    try {
      await waitFor(() => existsSync(`${r}/f29.txt`) && readFileSync(`${r}/f29.txt`, "utf8") === "v1 29\n", "R holding main");
      git(e, ["checkout", "-q", "other"]);
      await waitFor(() => Array.from({ length: 30 }, (_, i) => i).every((i) => readFileSync(`${r}/f${i}.txt`, "utf8") === `other ${i}\n`), "R holding other");
      const events = eventsOf(client.stdout());
      expect(events.filter((ev) => ev.event === "batch" || ev.event === "git")).toEqual([]);
      const status = await runBin(BIN.client, ["status", "--db", clientDb, "--server", daemon.url, "--token-file", daemon.tokenFile], { ZYNC_FEATURES: "delta,push,compress" });
      expect(status.stdout).toContain("root code:");
      expect(status.stdout).not.toContain("git on E");
    } finally {
      if (client.proc.exitCode === null) client.proc.kill("SIGTERM");
      await client.exited;
      await daemon.stop();
    }
  });
});

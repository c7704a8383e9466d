import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { ChangeLog, RootIndexer } from "@zync/daemon";
import { hashBytes, IGNORE_FILE, loadIgnoreRules, type IgnoreRules } from "@zync/node";
import { decodeFromServer, encodeMessage, isWirePath, type Change } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

const logs: ChangeLog[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) l.close();
});
afterAll(removeTempDirs);

type Setup = { root: string; log: ChangeLog; ix: RootIndexer; rules: IgnoreRules; warnings: string[] };

const GUARD = { allow: false, maxShare: 0.5, retryMs: 3_600_000, onHalt: () => undefined, onResume: () => undefined };

/** Keys stamped as if taken well after each file last changed, so an unchanged file's key is trusted. */
const LATER = (): number => Date.now() + 60_000;

function setup(build: (root: string) => void = sampleTree, clock: () => number = LATER): Setup {
  const root = tempDir("zync-root-");
  build(root);
  const log = new ChangeLog(`${tempDir("zync-db-")}/sync.db`);
  logs.push(log);
  const rules = loadIgnoreRules(root);
  const warnings: string[] = [];
  const ix = new RootIndexer(log, { name: "code", abs: root }, rules, (m) => warnings.push(m), GUARD, clock);
  return { root, log, ix, rules, warnings };
}

function sampleTree(root: string): void {
  mkdirSync(`${root}/src/deep/deeper`, { recursive: true });
  mkdirSync(`${root}/empty`);
  writeFileSync(`${root}/README.md`, "# hello\n");
  writeFileSync(`${root}/src/main.ts`, "export const x = 1;\n");
  writeFileSync(`${root}/src/deep/a file ü.txt`, "ü");
  writeFileSync(`${root}/src/deep/deeper/leaf.txt`, "leaf");
  writeFileSync(`${root}/run.sh`, "#!/bin/sh\n");
  chmodSync(`${root}/run.sh`, 0o755);
  symlinkSync("../README.md", `${root}/src/readme-link`);
}

/** Changes after `since`, by path. */
function changesAfter(log: ChangeLog, since: number): Map<string, Change> {
  const page = log.changesSince(since, 10_000);
  expect(page.more).toBe(false);
  return new Map(page.changes.map((c) => [c.path, c]));
}

/** Asserts that among `changes`, every path's change comes before (lower seq) any change of its ancestors. */
function expectChildrenFirst(changes: Map<string, Change>): void {
  for (const [path, c] of changes) {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const parent = changes.get(path.slice(0, i));
      if (parent) expect([path, c.seq < parent.seq]).toEqual([path, true]);
    }
  }
}

describe("RootIndexer.reconcile", () => {
  test("the first reconcile records every file, folder and link, each folder before what it holds", async () => {
    const { root, log, ix, warnings } = setup();
    const stats = await ix.reconcile();
    const all = changesAfter(log, 0);
    expect([...all.keys()].sort()).toEqual(
      ["README.md", "empty", "run.sh", "src", "src/deep", "src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt", "src/main.ts", "src/readme-link"].sort(),
    );
    expect(stats).toEqual({ recorded: 10, hashed: 5, scanned: 10 });
    expect(log.head()).toBe(10);
    for (const [path, c] of all) {
      const parent = path.includes("/") ? all.get(path.slice(0, path.lastIndexOf("/"))) : undefined;
      if (parent) expect(parent.seq).toBeLessThan(c.seq);
    }
    expect(all.get("README.md")?.state).toMatchObject({ kind: "file", hash: await hashBytes(readFileSync(`${root}/README.md`)), size: 8 });
    expect(all.get("run.sh")?.state).toMatchObject({ kind: "file", mode: 0o755 });
    expect(all.get("src/readme-link")?.state).toEqual({ kind: "symlink", target: "../README.md" });
    expect(all.get("empty")?.state).toMatchObject({ kind: "dir" });
    expect(warnings).toEqual([]);
  });

  test("a second reconcile of an unchanged tree hashes nothing and records nothing", async () => {
    const { log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    expect(await ix.reconcile()).toEqual({ recorded: 0, hashed: 0, scanned: 10 });
    expect(log.head()).toBe(head);
  });

  test("a file whose content changed is recorded with a new sequence number, and nothing else is", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    writeFileSync(`${root}/src/main.ts`, "export const x = 2; // longer\n");
    const stats = await ix.reconcile();
    expect(stats.recorded).toBe(1);
    expect(stats.hashed).toBe(1);
    const changed = changesAfter(log, head);
    expect([...changed.keys()]).toEqual(["src/main.ts"]);
    expect(changed.get("src/main.ts")).toMatchObject({
      seq: head + 1,
      state: { kind: "file", hash: await hashBytes(Buffer.from("export const x = 2; // longer\n")) },
    });
  });

  test("a same-size content change with a new mtime is recorded", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    writeFileSync(`${root}/README.md`, "# HELLO\n");
    utimesSync(`${root}/README.md`, new Date(1_500_000_000_000), new Date(1_500_000_000_000));
    expect((await ix.reconcile()).recorded).toBe(1);
    expect(changesAfter(log, head).get("README.md")?.state).toMatchObject({ hash: await hashBytes(Buffer.from("# HELLO\n")) });
  });

  test("a same-size rewrite in place with its mtime put back (cp -p, touch -r) is recorded: the ctime gives it away", async () => {
    const { root, log, ix } = setup();
    const t = new Date(1_500_000_000_000);
    utimesSync(`${root}/README.md`, t, t);
    await ix.reconcile();
    const head = log.head();
    writeFileSync(`${root}/README.md`, "# HELLO\n");
    utimesSync(`${root}/README.md`, t, t);
    expect((await ix.reconcile()).recorded).toBe(1);
    expect(changesAfter(log, head).get("README.md")?.state).toMatchObject({ hash: await hashBytes(Buffer.from("# HELLO\n")) });
  });

  test("a key taken within the timestamp granularity of a change is not trusted: the next reconcile reads the file again", async () => {
    // The real clock: the first reconcile's keys are taken moments after the files were written (racily clean).
    const { root, log, ix } = setup(sampleTree, Date.now);
    await ix.reconcile();
    const head = log.head();
    const st = statSync(`${root}/README.md`);
    writeFileSync(`${root}/README.md`, "# HELLO\n");
    utimesSync(`${root}/README.md`, st.atime, st.mtime);
    const stats = await ix.reconcile();
    expect(stats.hashed).toBeGreaterThan(0);
    expect(changesAfter(log, head).get("README.md")?.state).toMatchObject({ hash: await hashBytes(Buffer.from("# HELLO\n")) });
  });

  test("a file replaced by a new file of the same size and mtime (a new inode) is recorded", async () => {
    const { root, log, ix } = setup();
    const t = new Date(1_500_000_000_000);
    utimesSync(`${root}/README.md`, t, t);
    await ix.reconcile();
    const head = log.head();
    writeFileSync(`${root}/README.tmp`, "# HELLO\n");
    utimesSync(`${root}/README.tmp`, t, t);
    renameSync(`${root}/README.tmp`, `${root}/README.md`);
    expect((await ix.reconcile()).recorded).toBe(1);
    expect([...changesAfter(log, head).keys()]).toEqual(["README.md"]);
  });

  test("a file's mode change is recorded", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    chmodSync(`${root}/src/main.ts`, 0o755);
    expect((await ix.reconcile()).recorded).toBe(1);
    expect(changesAfter(log, head).get("src/main.ts")?.state).toMatchObject({ kind: "file", mode: 0o755 });
  });

  test("a folder's mode change is recorded", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    chmodSync(`${root}/empty`, 0o700);
    expect((await ix.reconcile()).recorded).toBe(1);
    expect(changesAfter(log, head).get("empty")?.state).toEqual({ kind: "dir", mode: 0o700 });
  });

  test("a retargeted symlink is recorded", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/readme-link`);
    symlinkSync("main.ts", `${root}/src/readme-link`);
    expect((await ix.reconcile()).recorded).toBe(1);
    expect(changesAfter(log, head).get("src/readme-link")?.state).toEqual({ kind: "symlink", target: "main.ts" });
  });

  test("new files and folders are recorded, the folder first", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    mkdirSync(`${root}/new`);
    writeFileSync(`${root}/new/n.txt`, "n");
    await ix.reconcile();
    const c = changesAfter(log, head);
    expect(c.get("new")!.seq).toBeLessThan(c.get("new/n.txt")!.seq);
    expect(c.get("new/n.txt")?.state).toMatchObject({ kind: "file", size: 1 });
  });

  test("deletions are recorded for everything removed, each child before its folder", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/deep`, { recursive: true });
    rmSync(`${root}/README.md`);
    const stats = await ix.reconcile();
    expect(stats.recorded).toBe(5);
    const c = changesAfter(log, head);
    expect([...c.keys()].sort()).toEqual(["README.md", "src/deep", "src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt"]);
    for (const ch of c.values()) expect(ch.state).toEqual({ kind: "deleted" });
    expectChildrenFirst(c);
    // Deleted paths stay deleted: another reconcile records nothing.
    expect((await ix.reconcile()).recorded).toBe(0);
  });

  test("touching a file's mtime records the new mtime (no content change), and the next reconcile hashes nothing", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    const t = new Date(1_234_567_890_000);
    utimesSync(`${root}/src/main.ts`, t, t);
    const stats = await ix.reconcile();
    expect(stats.recorded).toBe(1);
    expect(changesAfter(log, head).get("src/main.ts")?.state).toMatchObject({ kind: "file", mtimeMs: 1_234_567_890_000 });
    expect(await ix.reconcile()).toMatchObject({ recorded: 0, hashed: 0 });
  });

  test("ignored paths are never recorded", async () => {
    const { log, ix } = setup((r) => {
      sampleTree(r);
      mkdirSync(`${r}/node_modules/pkg`, { recursive: true });
      writeFileSync(`${r}/node_modules/pkg/index.js`, "x");
      mkdirSync(`${r}/.git`);
      writeFileSync(`${r}/.git/HEAD`, "ref");
      writeFileSync(`${r}/src/main.ts.swp`, "swap");
      writeFileSync(`${r}/src/main.ts.zync-conflict-20240101-000000`, "old");
    });
    await ix.reconcile();
    const paths = [...changesAfter(log, 0).keys()];
    expect(paths).toContain("src/main.ts");
    for (const p of paths) expect(p).not.toMatch(/node_modules|\.git|\.swp|zync-conflict/);
  });

  test("a path that becomes ignored is forgotten, not recorded as deleted", async () => {
    const { root, log, ix, rules } = setup((r) => {
      sampleTree(r);
      mkdirSync(`${r}/build`);
      writeFileSync(`${r}/build/out.js`, "o");
      writeFileSync(`${r}/debug.log`, "l");
    });
    await ix.reconcile();
    const head = log.head();
    expect(log.get("code", "build/out.js")).toBeDefined();
    writeFileSync(`${root}/${IGNORE_FILE}`, "build/\n*.log\n");
    await rules.reload();
    await ix.reconcile();
    for (const p of ["build", "build/out.js", "debug.log"]) expect([p, log.get("code", p)]).toEqual([p, undefined]);
    const c = changesAfter(log, head);
    expect([...c.keys()]).toEqual([IGNORE_FILE]);
    expect([...c.values()].filter((x) => x.state.kind === "deleted")).toEqual([]);
  });

  test("a folder replaced by a file: the deletions of what it held come before the file", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/deep`, { recursive: true });
    writeFileSync(`${root}/src/deep`, "now a file");
    await ix.reconcile();
    const c = changesAfter(log, head);
    expect(c.get("src/deep")?.state).toMatchObject({ kind: "file" });
    for (const p of ["src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt"]) expect([p, c.get(p)?.state]).toEqual([p, { kind: "deleted" }]);
    // A client applies in seq order; it can only place the file once the folder's contents are gone.
    expectChildrenFirst(c);
  });

  test("a folder replaced by a symlink to a folder inside the root: what it held is recorded as deleted", async () => {
    const { root, log, ix } = setup((r) => {
      sampleTree(r);
      mkdirSync(`${r}/other/deeper`, { recursive: true });
      writeFileSync(`${r}/other/a file ü.txt`, "other");
      writeFileSync(`${r}/other/deeper/leaf.txt`, "other");
    });
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/deep`, { recursive: true });
    symlinkSync("../other", `${root}/src/deep`);
    await ix.reconcile();
    const c = changesAfter(log, head);
    expect(c.get("src/deep")?.state).toEqual({ kind: "symlink", target: "../other" });
    for (const p of ["src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt"]) expect([p, c.get(p)?.state]).toEqual([p, { kind: "deleted" }]);
    expectChildrenFirst(c);
  });

  test("never records a path the wire would refuse, so one odd file name cannot break a CHANGES page", async () => {
    const { log, ix } = setup((r) => {
      sampleTree(r);
      writeFileSync(`${r}/back\\slash.txt`, "b");
      writeFileSync(`${r}/C:drive-like.txt`, "c");
    });
    await ix.reconcile();
    const page = log.changesSince(0, 10_000);
    for (const c of page.changes) expect([c.path, isWirePath(c.path)]).toEqual([c.path, true]);
    expect(page.changes.map((c) => c.path)).toContain("src/main.ts");
    expect(decodeFromServer(encodeMessage({ type: "CHANGES", id: 1, ...page })).ok).toBe(true);
  });
});

describe("RootIndexer.checkPaths", () => {
  test("an unchanged path records nothing", async () => {
    const { log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    expect(await ix.checkPaths(["README.md", "src", "src/readme-link"])).toMatchObject({ recorded: 0, hashed: 0 });
    expect(log.head()).toBe(head);
  });

  test("a removed file is recorded as deleted", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/README.md`);
    expect((await ix.checkPaths(["README.md"])).recorded).toBe(1);
    expect(changesAfter(log, head).get("README.md")?.state).toEqual({ kind: "deleted" });
  });

  test("a removed folder records deletions for everything under it, children first", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src`, { recursive: true });
    const stats = await ix.checkPaths(["src"]);
    const c = changesAfter(log, head);
    expect([...c.keys()].sort()).toEqual(["src", "src/deep", "src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt", "src/main.ts", "src/readme-link"]);
    expect(stats.recorded).toBe(7);
    for (const ch of c.values()) expect(ch.state).toEqual({ kind: "deleted" });
    expectChildrenFirst(c);
    expect(log.liveBelow("code", "src")).toEqual([]);
  });

  test("a new folder is scanned whole", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    mkdirSync(`${root}/fresh/a/b`, { recursive: true });
    writeFileSync(`${root}/fresh/a/b/f.txt`, "f");
    writeFileSync(`${root}/fresh/g.txt`, "g");
    await ix.checkPaths(["fresh"]);
    const c = changesAfter(log, head);
    expect([...c.keys()].sort()).toEqual(["fresh", "fresh/a", "fresh/a/b", "fresh/a/b/f.txt", "fresh/g.txt"]);
    expect(c.get("fresh")!.seq).toBeLessThan(c.get("fresh/a")!.seq);
  });

  test("a hint for a name the wire would refuse records nothing", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    writeFileSync(`${root}/back\\slash.txt`, "b");
    await ix.checkPaths(["back\\slash.txt"]);
    expect(log.head()).toBe(head);
  });

  test("a hint for an ignored path records nothing", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    mkdirSync(`${root}/node_modules`);
    writeFileSync(`${root}/node_modules/x.js`, "x");
    writeFileSync(`${root}/a.swp`, "s");
    await ix.checkPaths(["node_modules", "node_modules/x.js", "a.swp"]);
    expect(log.head()).toBe(head);
  });

  test("a folder replaced by a file: the deletions of what it held come before the file", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/deep`, { recursive: true });
    writeFileSync(`${root}/src/deep`, "now a file");
    await ix.checkPaths(["src/deep"]);
    const c = changesAfter(log, head);
    expect(c.get("src/deep")?.state).toMatchObject({ kind: "file" });
    for (const p of ["src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt"]) expect([p, c.get(p)?.state]).toEqual([p, { kind: "deleted" }]);
    expectChildrenFirst(c);
  });

  test("never records a live path below a symlink, even when hints name the folder's old contents", async () => {
    const { root, log, ix } = setup((r) => {
      sampleTree(r);
      mkdirSync(`${r}/other/deeper`, { recursive: true });
      writeFileSync(`${r}/other/a file ü.txt`, "other");
      writeFileSync(`${r}/other/deeper/leaf.txt`, "other");
    });
    await ix.reconcile();
    rmSync(`${root}/src/deep`, { recursive: true });
    symlinkSync("../other", `${root}/src/deep`);
    // The watcher reports the removed contents and the new link in one batch.
    await ix.checkPaths(["src/deep/a file ü.txt", "src/deep/deeper/leaf.txt", "src/deep/deeper", "src/deep"]);
    expect(log.get("code", "src/deep")?.state).toEqual({ kind: "symlink", target: "../other" });
    expect(log.liveBelow("code", "src/deep").map((e) => e.path)).toEqual([]);
  });

  test("a checkPaths issued during a reconcile runs after it, so no path is recorded twice", async () => {
    const { log, ix } = setup();
    const [a, b] = await Promise.all([ix.reconcile(), ix.checkPaths(["README.md", "src/main.ts"])]);
    expect(a.recorded).toBe(10);
    expect(b.recorded).toBe(0);
    expect(log.head()).toBe(10);
  });
});

describe("RootIndexer: hints are hints, the disk is the truth", () => {
  test("a lost event is made good by verifying the folder a hint named", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    // The watcher told only that something happened in src; the events for the files were lost.
    writeFileSync(`${root}/src/unannounced.txt`, "new\n");
    rmSync(`${root}/src/main.ts`);
    await ix.checkPaths(["src"]);
    expect(ix.pendingVerification()).toContain("src");
    await ix.verifyFolders(ix.pendingVerification());
    const changed = changesAfter(log, head);
    expect(changed.get("src/unannounced.txt")?.state).toMatchObject({ kind: "file", size: 4 });
    expect(changed.get("src/main.ts")?.state).toEqual({ kind: "deleted" });
    ix.stop();
  });

  test("a folder removed and made again, named by a hint, is compared whole with the disk", async () => {
    const { root, log, ix } = setup();
    await ix.reconcile();
    const head = log.head();
    rmSync(`${root}/src/deep`, { recursive: true });
    mkdirSync(`${root}/src/deep`);
    writeFileSync(`${root}/src/deep/written-before-any-watch.txt`, "fast\n");
    await ix.checkPaths(["src/deep"]);
    await ix.verifyFolders(ix.pendingVerification());
    const changed = changesAfter(log, head);
    expect(changed.get("src/deep/written-before-any-watch.txt")?.state).toMatchObject({ kind: "file", size: 5 });
    expect(changed.get("src/deep/deeper/leaf.txt")?.state).toEqual({ kind: "deleted" });
    ix.stop();
  });

  test("keys taken too soon after a change are re-read by the folder's verification once the granularity has passed, then trusted", async () => {
    let now = Date.now();
    const { root, log, ix } = setup(sampleTree, () => now);
    await ix.reconcile();
    const head = log.head();
    // Every key is racy: the files changed moments before they were read.
    expect(ix.pendingVerification()).toEqual(expect.arrayContaining(["", "src", "src/deep", "src/deep/deeper"]));
    // A same-size save in the same instant (as on a 1-second filesystem, every fact may stay as it was).
    writeFileSync(`${root}/README.md`, "# HELLO\n");
    now += 3000;
    const verified = await ix.verifyFolders(ix.pendingVerification());
    expect(verified.hashed).toBe(5);
    expect(changesAfter(log, head).get("README.md")?.state).toMatchObject({ hash: await hashBytes(Buffer.from("# HELLO\n")) });
    // From now on an unchanged tree costs no reads: not a rescan, nor another round of verification.
    expect(await ix.reconcile()).toEqual({ recorded: 0, hashed: 0, scanned: 10 });
    expect((await ix.verifyFolders(ix.pendingVerification())).hashed).toBe(0);
    ix.stop();
  });

  test("a hint for a path that is a FIFO records it as gone and says once that it is not synced", async () => {
    const { root, log, ix, warnings } = setup();
    await ix.reconcile();
    rmSync(`${root}/README.md`);
    execFileSync("mkfifo", [`${root}/README.md`]);
    await ix.checkPaths(["README.md"]);
    await ix.checkPaths(["README.md"]);
    expect(log.get("code", "README.md")?.state).toEqual({ kind: "deleted" });
    expect(warnings.filter((w) => /README\.md: it is a FIFO/.test(w))).toHaveLength(1);
    ix.stop();
  });
});

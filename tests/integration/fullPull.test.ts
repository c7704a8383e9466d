import { afterAll, describe, expect, test } from "@jest/globals";
import { lstatSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { ClientStore } from "@zync/client";
import { statKeyOf } from "@zync/node";
import { BIN, runBin, runClientOnce, spawnBin, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/**
 * Changes a file on R behind zync's back so that its stat shows nothing: same size, mtime set back (touch -r),
 * and (as a filesystem whose ctime does not move, or a flipped bit on disk, would leave it) the client's stored
 * stat key made to match what the file's stat says now.
 */
function changeUnseen(dbPath: string, root: string, rootAbs: string, rel: string, content: string): void {
  const abs = `${rootAbs}/${rel}`;
  const before = statSync(abs);
  expect(Buffer.byteLength(content)).toBe(before.size);
  writeFileSync(abs, content);
  utimesSync(abs, before.atime, before.mtime);
  const store = new ClientStore(dbPath);
  try {
    const base = store.base(root, rel)!;
    // Taken "later", so the key is not racy and proves the file unchanged to anything that trusts the stat.
    const key = statKeyOf(lstatSync(abs), Date.now() + 10_000)!;
    store.commit(root, { bases: [{ path: rel, state: base.state, key }], conflicts: [], unplaced: [], resolved: [] });
  } finally {
    store.close();
  }
}

function push(daemon: TestDaemon, db: string, dirs: readonly string[]) {
  return runBin(BIN.client, ["--update-upstream", "--dry-run", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", ...dirs]);
}

describe("--full", () => {
  test("finds a file changed behind zync's back with its stat restored, keeps it as R's edit, offers it upstream, and flags a conflict once E changes it too", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const db = `${tempDir()}/c.db`;
    writeFileSync(`${e}/damaged.txt`, "original line\n");
    writeFileSync(`${e}/intact.txt`, "left alone\n");
    writeFileSync(`${e}/later.txt`, "v1\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const dirs = [`code:${r}`];
    try {
      expect((await runClientOnce(daemon, db, dirs)).code).toBe(0);
      changeUnseen(db, "code", r, "damaged.txt", "Original lin3\n");

      // What trusts the stat sees nothing: a plain pull and a push both take the file for unchanged.
      const plain = await runClientOnce(daemon, db, dirs);
      expect(plain.code).toBe(0);
      expect(plain.stdout + plain.stderr).not.toContain("damaged.txt");
      expect((await push(daemon, db, dirs)).stdout).not.toContain("damaged.txt");

      writeFileSync(`${e}/later.txt`, "v2\n");
      const full = await runClientOnce(daemon, db, dirs, ["--full"]);
      expect(full.code).toBe(0);
      expect(full.stderr).toMatch(/code\/damaged\.txt differs from what R last received .* kept as R's edit/);
      expect(full.stderr).not.toContain("intact.txt");
      expect(full.stdout).toMatch(/full check: read 3 file\(s\) again; 1 differ/);
      // R's content stays; the rest of the pull went on as usual.
      expect(readFileSync(`${r}/damaged.txt`, "utf8")).toBe("Original lin3\n");
      expect(readFileSync(`${r}/later.txt`, "utf8")).toBe("v2\n");

      // From now on it is R's edit: no stat can prove it unchanged any more (so this does not hang on how long ago
      // the damage was), the next push offers it, and a later pull does not overwrite it.
      const store = new ClientStore(db);
      try {
        expect(store.base("code", "damaged.txt")).toMatchObject({ state: { kind: "file" }, key: undefined });
        expect(store.base("code", "intact.txt")?.key).toBeDefined();
      } finally {
        store.close();
      }
      expect((await push(daemon, db, dirs)).stdout).toMatch(/would push: \w+ code\/damaged\.txt/);
      expect((await runClientOnce(daemon, db, dirs)).code).toBe(0);
      expect(readFileSync(`${r}/damaged.txt`, "utf8")).toBe("Original lin3\n");

      // E changes it too: a conflict, R's content still kept.
      writeFileSync(`${e}/damaged.txt`, "E's new line\n");
      // The daemon records E's save shortly; pulls are repeated until one brings it.
      const conflicted = await waitFor(async () => {
        const run = await runClientOnce(daemon, db, dirs);
        return run.code === 0 ? undefined : run;
      }, "a pull that brings E's change");
      expect(conflicted.code).toBe(3);
      expect(conflicted.stderr).toMatch(/conflict: code\/damaged\.txt/);
      expect(readFileSync(`${r}/damaged.txt`, "utf8")).toBe("Original lin3\n");
    } finally {
      await daemon.stop();
    }
  });

  test("a full pull killed while it applies E's changes loses nothing: the next --full finishes and still keeps R's changed file", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const db = `${tempDir()}/c.db`;
    for (let i = 0; i < 300; i++) writeFileSync(`${e}/f${i}.txt`, `first ${i}\n`);
    writeFileSync(`${e}/damaged.txt`, "original line\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const dirs = [`code:${r}`];
    try {
      expect((await runClientOnce(daemon, db, dirs)).code).toBe(0);
      changeUnseen(db, "code", r, "damaged.txt", "Original lin3\n");
      for (let i = 0; i < 300; i++) writeFileSync(`${e}/f${i}.txt`, `second version of ${i}\n`);
      // Killed once its check is done, while the pull of E's changes is under way (or just after).
      const run = spawnBin(BIN.client, ["--full", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", ...dirs]);
      await waitFor(() => run.stdout().includes("full check:") || run.proc.exitCode !== null, "the full check's end");
      run.proc.kill("SIGKILL");
      await run.exited;
      expect(readFileSync(`${r}/damaged.txt`, "utf8")).toBe("Original lin3\n");

      const again = await waitFor(async () => {
        const res = await runClientOnce(daemon, db, dirs, ["--full"]);
        return res.code === 0 && readFileSync(`${r}/f299.txt`, "utf8") === "second version of 299\n" ? res : undefined;
      }, "a full pull that finishes with all of E's changes");
      expect(again.stderr).toMatch(/code\/damaged\.txt differs from what R last received/);
      // Files the killed run had placed are E's, not R's edits, wherever the kill fell.
      expect(again.stderr.match(/differs from what R last received/g)).toHaveLength(1);
      for (let i = 0; i < 300; i++) expect(readFileSync(`${r}/f${i}.txt`, "utf8")).toBe(`second version of ${i}\n`);
      expect(readFileSync(`${r}/damaged.txt`, "utf8")).toBe("Original lin3\n");
    } finally {
      await daemon.stop();
    }
  });

  test("--full with --dry-run is one sentence and exit 2", async () => {
    const res = await runBin(BIN.client, ["--full", "--dry-run", "--server", "ws://127.0.0.1:1", "--token-file", "/dev/null", "--db", `${tempDir()}/c.db`, "--dirs", `code:${tempDir()}`]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--full re-reads and compares every file/);
  });
});

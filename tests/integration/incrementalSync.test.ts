import { afterAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { pullUntilInStep } from "../helpers/pull.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

/** E and R after a first `--once` sync, with the daemon still running on E. */
type Synced = { e: string; r: string; db: string; daemon: TestDaemon; pull(extra?: readonly string[]): ReturnType<typeof pullUntilInStep> };

/**
 * Builds E, starts the daemon, runs a first `--once` sync into R and hands the pair to `body`; the daemon is
 * stopped whatever happens.
 */
async function withSyncedPair(body: (s: Synced) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  const r = `${tempDir("zync-r-")}/code`;
  mkdirSync(`${e}/src`);
  mkdirSync(`${e}/docs/guide`, { recursive: true });
  mkdirSync(`${e}/folder/sub`, { recursive: true });
  writeFileSync(`${e}/README.md`, "# project\n");
  writeFileSync(`${e}/src/app.ts`, "export const answer = 41;\n");
  writeFileSync(`${e}/src/util.ts`, "export const one = 1;\n");
  writeFileSync(`${e}/docs/index.md`, "index\n");
  writeFileSync(`${e}/docs/guide/intro.md`, "intro\n");
  writeFileSync(`${e}/docs/guide/setup.md`, "setup\n");
  writeFileSync(`${e}/folder/a.txt`, "a\n");
  writeFileSync(`${e}/folder/sub/b.txt`, "b\n");
  writeFileSync(`${e}/item`, "a plain file for now\n");
  writeFileSync(`${e}/run.sh`, "#!/bin/sh\necho run\n");
  chmodSync(`${e}/run.sh`, 0o644);
  writeFileSync(`${e}/tool.sh`, "#!/bin/sh\necho tool\n");
  chmodSync(`${e}/tool.sh`, 0o755);
  writeFileSync(`${e}/data.bin`, randomBytes(256 * 1024));
  symlinkSync("README.md", `${e}/link`);

  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    const db = `${tempDir("zync-client-")}/client.db`;
    const first = await runClientOnce(daemon, db, [`code:${r}`]);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(snapshotTree(r)).toEqual(snapshotTree(e));
    // First until the daemon lists E as it now is (so one run sees the whole change, as a client that was away
    // would), then --once runs until R is in step (that also covers edits the size-based listing cannot see).
    const pull = async (extra: readonly string[] = []): ReturnType<typeof pullUntilInStep> => {
      await waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e);
      return pullUntilInStep(daemon, db, { name: "code", e, r }, extra);
    };
    await body({ e, r, db, daemon, pull });
  } finally {
    await daemon.stop();
  }
}

describe("incremental sync after a first --once run", () => {
  test("edited files on E are rewritten on R, including an edit that keeps the size", async () => {
    await withSyncedPair(async ({ e, pull }) => {
      writeFileSync(`${e}/src/app.ts`, "export const answer = 42; // the real one\n");
      writeFileSync(`${e}/src/util.ts`, "export const one = 2;\n"); // same length as before
      await pull();
    });
  });

  test("new files, including files in new nested folders, appear on R", async () => {
    await withSyncedPair(async ({ e, pull }) => {
      writeFileSync(`${e}/NEW.md`, "new at the top\n");
      mkdirSync(`${e}/src/feature/deep`, { recursive: true });
      writeFileSync(`${e}/src/feature/deep/new.ts`, "export {};\n");
      writeFileSync(`${e}/src/feature/empty-file.ts`, "");
      await pull();
    });
  });

  test("a file deleted on E is deleted on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      unlinkSync(`${e}/docs/index.md`);
      const run = await pull();
      expect(snapshotTree(r)["docs/index.md"]).toBeUndefined();
      expect(run.stdout).toMatch(/synced: .*1 deleted/);
    });
  });

  test("a whole folder deleted on E is deleted on R, contents and all", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      rmSync(`${e}/docs`, { recursive: true });
      await pull();
      expect(Object.keys(snapshotTree(r)).filter((p) => p === "docs" || p.startsWith("docs/"))).toEqual([]);
    });
  });

  test("a new empty folder on E is created on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      mkdirSync(`${e}/empty/inner`, { recursive: true });
      await pull();
      expect(snapshotTree(r)["empty/inner"]).toBe("dir");
    });
  });

  test("setting and clearing the exec bit on E does the same on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      chmodSync(`${e}/run.sh`, 0o755);
      chmodSync(`${e}/tool.sh`, 0o644);
      await pull();
      expect(snapshotTree(r)["run.sh"]).toMatch(/ x$/);
      expect(snapshotTree(r)["tool.sh"]).toMatch(/ -$/);
    });
  });

  test("a symlink retargeted on E is retargeted on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      unlinkSync(`${e}/link`);
      symlinkSync("src/app.ts", `${e}/link`);
      await pull();
      expect(snapshotTree(r)["link"]).toBe("link src/app.ts");
    });
  });

  test("a file replaced by a folder on E becomes that folder on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      unlinkSync(`${e}/item`);
      mkdirSync(`${e}/item`);
      writeFileSync(`${e}/item/inside.txt`, "now a folder\n");
      await pull();
      expect(snapshotTree(r)["item"]).toBe("dir");
    });
  });

  test("a folder replaced by a file on E becomes that file on R", async () => {
    await withSyncedPair(async ({ e, r, pull }) => {
      rmSync(`${e}/folder`, { recursive: true });
      writeFileSync(`${e}/folder`, "now a file\n");
      await pull();
      expect(snapshotTree(r)["folder"]).toMatch(/^file /);
    });
  });

  test("a file renamed on E is copied locally on R instead of downloaded again", async () => {
    await withSyncedPair(async ({ e, r, db, daemon }) => {
      renameSync(`${e}/data.bin`, `${e}/data-renamed.bin`);
      // Wait until the daemon has recorded both halves of the rename, so that one pull sees both.
      await waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e);
      const run = await runClientOnce(daemon, db, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
      expect(run.stdout).toMatch(/synced: .*\b1 copied locally\b/);
      expect(run.stdout).not.toMatch(/received/);
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

/** E and R after a first `--once` sync, with the daemon still running on E. */
type Synced = {
  e: string;
  r: string;
  daemon: TestDaemon;
  /** One `--once` run with this pair's client database. */
  once(extra?: readonly string[]): ReturnType<typeof runClientOnce>;
  /** Waits until the daemon has recorded E as it is now, so that the next run sees every change made there. */
  daemonCaughtUp(): Promise<void>;
};

async function withSyncedPair(body: (s: Synced) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  const r = `${tempDir("zync-r-")}/code`;
  mkdirSync(`${e}/notes`);
  writeFileSync(`${e}/shared.txt`, "original\n");
  writeFileSync(`${e}/other.txt`, "other v1\n");
  writeFileSync(`${e}/notes/todo.md`, "- one\n");
  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    const db = `${tempDir("zync-client-")}/client.db`;
    const once = (extra: readonly string[] = []): ReturnType<typeof runClientOnce> => runClientOnce(daemon, db, [`code:${r}`], extra);
    const first = await once();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(snapshotTree(r)).toEqual(snapshotTree(e));
    await body({ e, r, daemon, once, daemonCaughtUp: () => waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e) });
  } finally {
    await daemon.stop();
  }
}

const R_EDIT = "edited on R, not to be lost\n";
const E_EDIT = "edited on E at the same time\n";

/** Conflict copies R keeps beside `name` in folder `dir`. */
function conflictCopies(dir: string, name: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(`${name}.zync-conflict-`));
}

describe("conflicts", () => {
  test("an edit on R is never overwritten: the run exits 3, names the path, and still applies the rest of the pull", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      writeFileSync(`${e}/other.txt`, "other v2, longer\n");
      writeFileSync(`${e}/notes/new.md`, "new note\n");
      await daemonCaughtUp();

      const run = await once();
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/conflict: code\/shared\.txt\b/);
      expect(run.stderr).not.toContain("    at ");
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe(R_EDIT);
      // Everything else in the same pull landed.
      const skipShared = (p: string): boolean => p === "shared.txt";
      expect(snapshotTree(r, skipShared)).toEqual(snapshotTree(e, skipShared));
    });
  });

  test("an open conflict is reported again by every later run, which still exits 3", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      await daemonCaughtUp();
      expect((await once()).code).toBe(3);

      const again = await once();
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/conflict: code\/shared\.txt\b/);
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe(R_EDIT);
    });
  });

  test("a file R edited is not deleted on R when E deletes it", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/notes/todo.md`, R_EDIT);
      unlinkSync(`${e}/notes/todo.md`);
      await daemonCaughtUp();

      const run = await once();
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/conflict: code\/notes\/todo\.md\b/);
      expect(readFileSync(`${r}/notes/todo.md`, "utf8")).toBe(R_EDIT);
    });
  });

  test("--prefer-daemon takes E's version, keeps R's beside it as NAME.zync-conflict-*, and exits 0", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      await daemonCaughtUp();

      const run = await once(["--prefer-daemon"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe(E_EDIT);
      const copies = conflictCopies(r, "shared.txt");
      expect(copies).toHaveLength(1);
      expect(readFileSync(`${r}/${copies[0]!}`, "utf8")).toBe(R_EDIT);
      const skipCopies = (p: string): boolean => p.includes(".zync-conflict-");
      expect(snapshotTree(r, skipCopies)).toEqual(snapshotTree(e));

      // Nothing is left open: a plain run afterwards is clean and leaves the copy alone.
      const after = await once();
      expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
      expect(conflictCopies(r, "shared.txt")).toEqual(copies);
    });
  });

  test("--prefer-daemon also settles a conflict an earlier run left open", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      await daemonCaughtUp();
      expect((await once()).code).toBe(3);

      const run = await once(["--prefer-daemon"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe(E_EDIT);
      const copies = conflictCopies(r, "shared.txt");
      expect(copies).toHaveLength(1);
      expect(readFileSync(`${r}/${copies[0]!}`, "utf8")).toBe(R_EDIT);
    });
  });

  test("with --prefer-daemon, a file R edited and E deleted is kept aside and removed", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/notes/todo.md`, R_EDIT);
      unlinkSync(`${e}/notes/todo.md`);
      await daemonCaughtUp();

      const run = await once(["--prefer-daemon"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(existsSync(`${r}/notes/todo.md`)).toBe(false);
      const copies = conflictCopies(`${r}/notes`, "todo.md");
      expect(copies).toHaveLength(1);
      expect(readFileSync(`${r}/notes/${copies[0]!}`, "utf8")).toBe(R_EDIT);
    });
  });

  test("a conflict clears once R's content is identical to E's", async () => {
    await withSyncedPair(async ({ e, r, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      await daemonCaughtUp();
      expect((await once()).code).toBe(3);

      writeFileSync(`${r}/shared.txt`, E_EDIT);
      const run = await once();
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      // Cleared for good: a later run is clean too.
      const after = await once();
      expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
    });
  });
});

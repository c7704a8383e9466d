import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { VersionStore } from "@zync/daemon";
import { hashBytes } from "@zync/node";
import { BIN, runBin, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { outcomes, withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

describe("merging an upstream conflict on E", () => {
  test("E edits line 1, R edits line 5: the daemon kept the version it served, and zync-apply --merge combines both edits", async () => {
    await withUpstreamPair({ "five.txt": FIVE, "same.txt": FIVE }, async ({ e, r, db, pushSession, apply }) => {
      // The daemon served five.txt to R during the initial sync, and keeps that version as the base of a merge.
      const baseHash = await hashBytes(Buffer.from(FIVE));
      await waitFor(() => existsSync(`${db}.versions/${baseHash}.gz`) || undefined, "the served version in E's version store");
      const status = await runBin(BIN.daemon, ["status", "--json", "--db", db]);
      expect(JSON.parse(status.stdout)).toEqual(expect.objectContaining({ versions: expect.objectContaining({ path: `${db}.versions`, files: 1 }) }));
      expect((await runBin(BIN.daemon, ["status", "--db", db])).stdout).toMatch(/version store: 1 version\(s\)/);

      writeFileSync(`${r}/five.txt`, FIVE.replace("line5", "line5 R"));
      writeFileSync(`${r}/same.txt`, FIVE.replace("line3", "line3 R"));
      writeFileSync(`${e}/five.txt`, FIVE.replace("line1", "line1 E"));
      writeFileSync(`${e}/same.txt`, FIVE.replace("line3", "line3 E"));
      const id = await pushSession();

      const run = await apply(["apply", String(id), "--merge"]);
      expect(run.code).toBe(3);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/merged five\.txt/);
      expect(run.stdout).toMatch(/left pending: same\.txt: no clean merge: E's and R's changes overlap in 1 place/);
      expect(readFileSync(`${e}/five.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
      expect(readFileSync(`${e}/same.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 E"));
      expect(await outcomes(db, id)).toEqual({ "five.txt": "applied", "same.txt": "pending" });
    });
  });

  test("--merge with --force is refused with one sentence", async () => {
    await withUpstreamPair({ "a.txt": "a\n" }, async ({ r, pushSession, apply }) => {
      writeFileSync(`${r}/a.txt`, "a R\n");
      const id = await pushSession();
      const run = await apply(["apply", String(id), "--merge", "--force", "--non-interactive"]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/--merge and --force exclude each other/);
      expect(run.stderr).not.toContain("    at ");
    });
  });
});

describe("the daemon's version store retention", () => {
  /** A database folder whose version store holds an old and a fresh version. */
  async function storeWithOldAndFresh(): Promise<{ db: string; old: string; fresh: string }> {
    const db = `${tempDir("zync-daemon-")}/sync.db`;
    const store = new VersionStore(`${db}.versions`);
    const [old, fresh] = await Promise.all([hashBytes(Buffer.from("old\n")), hashBytes(Buffer.from("fresh\n"))]);
    await store.put(old, Buffer.from("old\n"));
    await store.put(fresh, Buffer.from("fresh\n"));
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    utimesSync(`${db}.versions/${old}.gz`, threeDaysAgo, threeDaysAgo);
    return { db, old, fresh };
  }

  test("on start, versions older than --versions-days are pruned and the rest kept", async () => {
    const { db, old, fresh } = await storeWithOldAndFresh();
    const daemon = await startTestDaemon([`code:${tempDir("zync-e-")}`], { db, args: ["--versions-days", "2"] });
    try {
      expect([existsSync(`${db}.versions/${old}.gz`), existsSync(`${db}.versions/${fresh}.gz`)]).toEqual([false, true]);
    } finally {
      await daemon.stop();
    }
  });

  test("on start, the store is cut to --versions-max-mb", async () => {
    const { db, old, fresh } = await storeWithOldAndFresh();
    const daemon = await startTestDaemon([`code:${tempDir("zync-e-")}`], { db, args: ["--versions-max-mb", "0"] });
    try {
      expect([existsSync(`${db}.versions/${old}.gz`), existsSync(`${db}.versions/${fresh}.gz`)]).toEqual([false, false]);
    } finally {
      await daemon.stop();
    }
  });
});

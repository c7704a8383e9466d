import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon, writeToken, type TestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** A daemon state folder with a token file that outlives the database. */
function daemonState(): { db: string; tokenFile: string; dir: string } {
  const dir = tempDir("zync-daemon-");
  return { dir, db: `${dir}/sync.db`, tokenFile: writeToken(`${dir}/token`, "resync-test-token") };
}

/** Deletes the daemon's database and everything kept beside it (SQLite's files, the version store), leaving the token file. */
function deleteDatabase(dir: string): void {
  const gone = readdirSync(dir).filter((n) => n.startsWith("sync.db"));
  expect(gone).toContain("sync.db");
  for (const n of gone) rmSync(`${dir}/${n}`, { force: true, recursive: true });
}

function fill(e: string): void {
  mkdirSync(`${e}/src/lib`, { recursive: true });
  mkdirSync(`${e}/empty`);
  writeFileSync(`${e}/README.md`, "# project\n");
  writeFileSync(`${e}/src/main.ts`, "export const main = 1;\n");
  writeFileSync(`${e}/src/lib/util.ts`, "export const util = 2;\n");
  writeFileSync(`${e}/src/lib/old.ts`, "export const old = 3;\n");
  writeFileSync(`${e}/data.bin`, Buffer.alloc(64 * 1024, 7));
}

describe("full comparison", () => {
  test("after the daemon's database is replaced, nothing R holds identically is downloaded again, and E's deletions still reach R", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    fill(e);
    const st = daemonState();
    const clientDb = `${tempDir()}/client.db`;
    let daemon: TestDaemon | undefined = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile });
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/received/);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      await daemon.stop();
      daemon = undefined;
      deleteDatabase(st.dir);
      rmSync(`${e}/src/lib/old.ts`);
      daemon = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile });

      const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      expect(again.stdout).not.toMatch(/received/);
      expect(existsSync(`${r}/src/lib/old.ts`)).toBe(false);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon?.stop();
    }
  });

  test("after the database is replaced, a file only R changed is kept and is not reported as a conflict", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    fill(e);
    const st = daemonState();
    const clientDb = `${tempDir()}/client.db`;
    let daemon: TestDaemon | undefined = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile });
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.code).toBe(0);

      await daemon.stop();
      daemon = undefined;
      deleteDatabase(st.dir);
      // E does not touch main.ts; R edits it.
      writeFileSync(`${r}/src/main.ts`, "export const main = 'edited on R';\n");
      daemon = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile });

      const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(readFileSync(`${r}/src/main.ts`, "utf8")).toBe("export const main = 'edited on R';\n");
      expect(again.stdout).not.toMatch(/received/);
      // E never changed main.ts, so there is nothing to be in conflict with.
      expect(again.stderr).not.toMatch(/conflict/);
      expect(again.code).toBe(0);
    } finally {
      await daemon?.stop();
    }
  });

  test("deletions the daemon has forgotten still reach a client that was away, and R's own edits are kept", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    fill(e);
    writeFileSync(`${e}/gone.txt`, "deleted on E, untouched on R\n");
    writeFileSync(`${e}/both.txt`, "deleted on E, edited on R\n");
    const st = daemonState();
    const clientDb = `${tempDir()}/client.db`;
    const args = ["--tombstone-days", "0"];
    let daemon: TestDaemon | undefined = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile, args });
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      writeFileSync(`${r}/both.txt`, "R's edit of a file E deletes\n");
      writeFileSync(`${r}/src/main.ts`, "export const main = 'R only';\n");
      rmSync(`${e}/gone.txt`);
      rmSync(`${e}/both.txt`);
      // Wait until the running daemon has recorded both deletions (a second client sees them), so the restart
      // below prunes them and raises the horizon past the first client's cursor.
      const probe = `${tempDir()}/probe`;
      const probeDb = `${tempDir()}/probe.db`;
      const live = daemon;
      await waitFor(
        async () => {
          const res = await runClientOnce(live, probeDb, [`code:${probe}`]);
          return res.code === 0 && existsSync(`${probe}/README.md`) && !existsSync(`${probe}/gone.txt`) && !existsSync(`${probe}/both.txt`);
        },
        "the daemon to record the deletions",
        20_000,
        100,
      );

      await daemon.stop();
      daemon = undefined;
      daemon = await startTestDaemon([`code:${e}`], { db: st.db, tokenFile: st.tokenFile, args });

      const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(existsSync(`${r}/gone.txt`)).toBe(false);
      expect(readFileSync(`${r}/both.txt`, "utf8")).toBe("R's edit of a file E deletes\n");
      expect(readFileSync(`${r}/src/main.ts`, "utf8")).toBe("export const main = 'R only';\n");
      // Deleted on E and changed on R is a true conflict: reported, and the exit code says so.
      expect(again.stderr).toMatch(/conflict: code\/both\.txt/);
      expect(again.code).toBe(3);
      const skipEdited = (rel: string): boolean => rel === "both.txt" || rel === "src/main.ts";
      expect(snapshotTree(r, skipEdited)).toEqual(snapshotTree(e, skipEdited));
    } finally {
      await daemon?.stop();
    }
  });
});

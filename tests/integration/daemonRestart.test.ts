import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, rmdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { runBin, runClientOnce, startTestDaemon, BIN, type TestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** A small tree with files at several depths. */
function makeTree(e: string): void {
  mkdirSync(`${e}/src/lib`, { recursive: true });
  mkdirSync(`${e}/old/empty`, { recursive: true });
  writeFileSync(`${e}/README.md`, "# readme\n");
  writeFileSync(`${e}/src/main.ts`, "console.log('v1');\n");
  writeFileSync(`${e}/src/lib/a.ts`, "export const a = 1;\n");
  writeFileSync(`${e}/src/lib/b.ts`, "export const b = 2;\n");
  writeFileSync(`${e}/old/kept.txt`, "kept\n");
  mkdirSync(`${e}/doomed/inner`, { recursive: true });
  writeFileSync(`${e}/doomed/inner/gone.txt`, "soon gone\n");
  writeFileSync(`${e}/remove-me.txt`, "bye\n");
}

/** Parses the daemon's verbose per-root line "NAME: scanned N, hashed M, recorded K". */
async function indexLine(daemon: TestDaemon, root: string): Promise<{ scanned: number; hashed: number; recorded: number }> {
  const re = new RegExp(`^${root}: scanned (\\d+), hashed (\\d+), recorded (\\d+)$`, "m");
  const m = await waitFor(() => re.exec(daemon.stdout()), `the daemon's index line for ${root}`);
  return { scanned: Number(m[1]), hashed: Number(m[2]), recorded: Number(m[3]) };
}

describe("daemon restart", () => {
  test("changes made while the daemon was down reach the client in one run after a restart", async () => {
    const e = tempDir("zync-e-");
    const r = `${tempDir("zync-r-")}/code`;
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    makeTree(e);
    const first = await startTestDaemon([`code:${e}`]);
    try {
      const run = await runClientOnce(first, clientDb, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await first.stop();
    }

    // While nothing watches E: additions, an edit, a deleted file, a deleted empty folder and a deleted folder with
    // contents.
    writeFileSync(`${e}/src/lib/c.ts`, "export const c = 3;\n");
    mkdirSync(`${e}/new/deeper`, { recursive: true });
    writeFileSync(`${e}/new/deeper/file.txt`, "new while down\n");
    writeFileSync(`${e}/src/main.ts`, "console.log('version two');\n");
    unlinkSync(`${e}/remove-me.txt`);
    rmdirSync(`${e}/old/empty`);
    rmSync(`${e}/doomed`, { recursive: true });

    const second = await startTestDaemon([`code:${e}`], { db: first.db, tokenFile: first.tokenFile });
    try {
      const run = await runClientOnce(second, clientDb, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
      // Same database, same epoch: an incremental pull, not a full comparison.
      expect(run.stdout).not.toMatch(/comparing everything/);
    } finally {
      await second.stop();
    }
  });

  test("restarting on an unchanged tree hashes and records nothing, once the first run has verified its fresh files", async () => {
    const e = tempDir("zync-e-");
    makeTree(e);
    // Modified "in a moment", so the first scan finds every file racy even when the daemon is slow to start.
    const soon = new Date(Date.now() + 3000);
    for (const f of ["README.md", "src/main.ts", "src/lib/a.ts", "src/lib/b.ts", "old/kept.txt", "doomed/inner/gone.txt", "remove-me.txt"]) utimesSync(`${e}/${f}`, soon, soon);
    const first = await startTestDaemon([`code:${e}`], { args: ["--verbose"] });
    let before: Awaited<ReturnType<typeof indexLine>>;
    try {
      before = await indexLine(first, "code");
      // The files were written a moment before the first scan, so its keys are racy (a same-size write within the
      // timestamp granularity could hide behind them). The daemon reads them once more when that has passed; from
      // then on their keys prove them unchanged.
      // Every file is read again at least once; a file still racy at the first check is read at the next one, so the
      // verifications are counted over every line the first run prints.
      const readAgain = (): number => [...first.stdout().matchAll(/^code: recent changes verified \((\d+) file\(s\) read again\)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      await waitFor(() => readAgain() >= 7, "the first run's verification of all 7 files");
      expect(readAgain()).toBeGreaterThanOrEqual(7);
    } finally {
      await first.stop();
    }
    // 7 files and 6 folders; the first start hashes every file and records every path.
    expect(before).toEqual({ scanned: 13, hashed: 7, recorded: 13 });

    const second = await startTestDaemon([`code:${e}`], { db: first.db, tokenFile: first.tokenFile, args: ["--verbose"] });
    try {
      expect(await indexLine(second, "code")).toEqual({ scanned: 13, hashed: 0, recorded: 0 });
    } finally {
      await second.stop();
    }
  });

  test("a second daemon on the same database exits non-zero with one sentence naming the database", async () => {
    const e = tempDir("zync-e-");
    const r = `${tempDir("zync-r-")}/code`;
    makeTree(e);
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const other = await runBin(BIN.daemon, ["--port", "0", "--db", daemon.db, "--token-file", daemon.tokenFile, "--dirs", `code:${e}`]);
      expect(other.code).not.toBe(0);
      expect(typeof other.code).toBe("number");
      expect(other.stderr).not.toContain("    at ");
      expect(other.stderr.trim().split("\n")).toHaveLength(1);
      expect(other.stderr).toMatch(/^zync-daemon: /);
      expect(other.stderr).toContain(daemon.db);
      expect(other.stdout).not.toMatch(/listening on/);

      // The first daemon is unharmed and still serves.
      expect(daemon.proc.exitCode).toBeNull();
      const run = await runClientOnce(daemon, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { writePatternFile } from "../helpers/bigFile.js";
import { BIN, runBin, runClientOnce, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { treeDiff } from "../helpers/faultRig.js";
import { makeExt4, titled } from "../helpers/loopFs.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { writeTree } from "../helpers/operatorCli.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";

const small = makeExt4(16);
if (!small.ok) console.warn(`full-disk test skipped: ${small.reason}`);
afterAll(() => {
  if (small.ok) small.fs.cleanup();
  removeTempDirs();
});

const MiB = 1024 * 1024;

describe("a full disk on R", () => {
  (small.ok ? test : test.skip)(
    titled("a pull that runs out of space fails with one clear sentence, loses nothing, leaves no partial file at a final name, and converges once space is freed", small),
    async () => {
      if (!small.ok) return;
      const mnt = small.fs.dir;
      const e = tempDir("zync-e-");
      const r = `${mnt}/code`;
      const clientDb = `${tempDir("zync-client-")}/client.db`;
      writeTree(e, { "a.txt": "a from E\n", "b.txt": "b from E\n", "docs/keep.md": "kept as it is\n" });
      const daemon = await startTestDaemon([`code:${e}`]);
      try {
        const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
        expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
        // R's own work: a file only R has, and an edit of a file E will not touch.
        writeFileSync(`${r}/r-only.txt`, "made on R\n");
        writeFileSync(`${r}/b.txt`, "b edited on R\n");
        const before = snapshotTree(r);

        // Fill R's disk to within 2 MiB, outside the root, then give E 6 MiB of new files and an edit.
        const st = statfsSync(mnt);
        const free = st.bavail * st.bsize;
        await writePatternFile(`${mnt}/ballast`, Math.max(0, free - 2 * MiB), 7);
        mkdirSync(`${e}/big`);
        for (let i = 0; i < 3; i++) await writePatternFile(`${e}/big/part${i}.bin`, 2 * MiB, 100 + i);
        writeFileSync(`${e}/a.txt`, "a changed on E\n");

        const full = await waitForDaemonThenPull(daemon, clientDb, r, e);
        // Each path that did not fit is named once with the reason, the run ends with one sentence, and what fitted landed.
        expect(full.code).toBe(1);
        expect(full.stderr).not.toContain("    at ");
        const lines = full.stderr.trim().split("\n");
        expect(lines[lines.length - 1]).toMatch(/^zync-client: \d+ path\(s\) could not be written on R \(first: code\/.*: R's disk is full\); everything else is in step$/);
        for (const line of lines.slice(0, -1)) expect(line).toMatch(/^zync-client: warning: not written: code\/.*: R's disk is full;/);
        expect(readFileSync(`${r}/a.txt`, "utf8")).toBe("a changed on E\n");
        const status = await runBin(BIN.client, ["status", "--db", clientDb, "--json"]);
        const notWritten = (JSON.parse(status.stdout) as { notWritten: { path: string; reason: string }[] }).notWritten;
        expect(notWritten.length).toBe(lines.length - 1);
        expect(notWritten.every((u) => u.path.startsWith("big/") && u.reason === "R's disk is full")).toBe(true);

        // Every file at a final name is whole: what R held before, or E's new content.
        const eNow = snapshotTree(e);
        const after = snapshotTree(r);
        const partial = Object.entries(after).filter(([p, d]) => d.startsWith("file ") && d !== before[p] && d !== eNow[p]);
        expect(partial).toEqual([]);
        expect({ rOnly: after["r-only.txt"], edited: after["b.txt"] }).toEqual({ rOnly: before["r-only.txt"], edited: before["b.txt"] });

        // Space is back: the next run brings the rest and cleans up after the failed one.
        rmSync(`${mnt}/ballast`);
        const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
        expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
        expect(treeDiff(e, r, (p) => p === "r-only.txt" || p === "b.txt")).toEqual([]);
        expect(snapshotTree(r)["r-only.txt"]).toBe(before["r-only.txt"]);
        expect(snapshotTree(r)["b.txt"]).toBe(before["b.txt"]);
        const leftovers = existsSync(`${r}/.zync-tmp`) ? readdirSync(`${r}/.zync-tmp`) : [];
        expect(leftovers).toEqual([]);
      } finally {
        await daemon.stop();
      }
    },
  );
});

/** Runs `--once` until the daemon has recorded E's new files (a run that changes nothing is not the test). */
async function waitForDaemonThenPull(daemon: TestDaemon, clientDb: string, r: string, e: string): ReturnType<typeof runClientOnce> {
  await waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e);
  return runClientOnce(daemon, clientDb, [`code:${r}`]);
}

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { BIN, runClientOnce, spawnBin, startTestDaemon, type Spawned } from "../helpers/bins.js";
import { sha256File, writePatternFile } from "../helpers/bigFile.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const BIG = 300 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Sizes of the files in R's temp folder now (empty when the folder is absent). */
function tempSizes(root: string): number[] {
  const dir = `${root}/.zync-tmp`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const sizes: number[] = [];
  for (const n of names) {
    try {
      sizes.push(statSync(`${dir}/${n}`).size);
    } catch {
      // renamed into place or discarded between readdir and stat
    }
  }
  return sizes;
}

describe("interrupted transfer", () => {
  test("a client killed mid-transfer leaves no partial file at a final name, and the next run finishes", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    mkdirSync(`${e}/docs`);
    writeFileSync(`${e}/a.txt`, "first small file\n");
    writeFileSync(`${e}/docs/notes.md`, "# notes\n");
    writeFileSync(`${e}/zz-last.txt`, "after the big one\n");
    await writePatternFile(`${e}/big.bin`, BIG, 7);
    const bigHash = await sha256File(`${e}/big.bin`);
    const clientDb = `${tempDir()}/client.db`;

    const daemon = await startTestDaemon([`code:${e}`]);
    let client: Spawned | undefined;
    try {
      client = spawnBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`]);
      const running = client;
      // Kill only once a temp file of the big transfer has been seen growing (more than a small file, less than all).
      let seen = 0;
      await Promise.race([
        waitFor(
          () => {
            const partial = tempSizes(r).filter((s) => s >= MiB && s < BIG);
            const now = Math.max(0, ...partial);
            const growing = seen > 0 && now > seen;
            if (partial.length > 0) seen = Math.max(seen, now);
            return growing;
          },
          "a growing temp file in R's .zync-tmp",
          60_000,
          5,
        ),
        running.exited.then((code) => Promise.reject(new Error(`the client finished (${code}) before it could be interrupted: ${running.stderr()}`))),
      ]);
      running.proc.kill("SIGKILL");
      expect(await running.exited).toBe("SIGKILL");

      // The interrupted transfer is still in the temp folder, not at its final name.
      expect(tempSizes(r).some((s) => s > 0 && s < BIG)).toBe(true);
      if (existsSync(`${r}/big.bin`)) {
        expect(statSync(`${r}/big.bin`).size).toBe(BIG);
        expect(await sha256File(`${r}/big.bin`)).toBe(bigHash);
      }
      // Whatever small file is at its final name is whole.
      const skipBig = (rel: string): boolean => rel === "big.bin";
      const early = snapshotTree(r, skipBig);
      const wanted = snapshotTree(e, skipBig);
      for (const name of ["a.txt", "docs/notes.md", "zz-last.txt"]) {
        if (early[name] !== undefined) expect(early[name]).toBe(wanted[name]);
      }

      const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      // Nothing but the plain progress line a run longer than 10 s prints (on a loaded machine).
      expect(again.stderr.split("\n").filter((l) => l !== "" && !/^pulling: \d+\/\d+ files, /.test(l))).toEqual([]);
      expect(again.code).toBe(0);
      expect(existsSync(`${r}/.zync-tmp`)).toBe(false);
      expect(await sha256File(`${r}/big.bin`)).toBe(bigHash);
      expect(statSync(`${r}/big.bin`).size).toBe(BIG);
      expect(statSync(`${r}/big.bin`).mode & 0o777).toBe(statSync(`${e}/big.bin`).mode & 0o777);
      expect(snapshotTree(r, skipBig)).toEqual(wanted);
    } finally {
      if (client && client.proc.exitCode === null && client.proc.signalCode === null) {
        client.proc.kill("SIGKILL");
        await client.exited;
      }
      await daemon.stop();
      removeTempDirs();
    }
  });
});

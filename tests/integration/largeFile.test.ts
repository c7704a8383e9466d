import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { BIN, spawnBin, startTestDaemon, type Spawned } from "../helpers/bins.js";
import { sha256File, writePatternFile } from "../helpers/bigFile.js";
import { sampleMemory } from "../helpers/procMemory.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

const MiB = 1024 * 1024;
/** Larger than the memory limit below, so a client that held the file in memory could not pass. */
const SIZE = 256 * MiB;
/** Node's own baseline is ~50-80 MB; receiving must add a bounded amount, not the file. */
const PEAK_LIMIT = 200 * MiB;

describe("large file", () => {
  test("a file larger than the client's memory limit syncs intact with the client's memory staying flat", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    writeFileSync(`${e}/small.txt`, "beside the big one\n");
    await writePatternFile(`${e}/large.bin`, SIZE, 42);
    const wantHash = await sha256File(`${e}/large.bin`);

    const daemon = await startTestDaemon([`code:${e}`]);
    let client: Spawned | undefined;
    try {
      client = spawnBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", `${tempDir()}/client.db`, "--dirs", `code:${r}`]);
      const pid = client.proc.pid;
      expect(pid).toBeDefined();
      const sampler = sampleMemory(pid!, 20);
      const code = await client.exited;
      const peak = sampler.stop();

      expect(client.stderr()).toBe("");
      expect(code).toBe(0);
      // The sampler really watched the client while it worked.
      expect(peak.samples).toBeGreaterThan(3);
      expect(peak.maxHwm).toBeGreaterThan(0);
      expect(Math.max(peak.maxRss, peak.maxHwm)).toBeLessThan(PEAK_LIMIT);

      expect(existsSync(`${r}/.zync-tmp`)).toBe(false);
      expect(statSync(`${r}/large.bin`).size).toBe(SIZE);
      expect(await sha256File(`${r}/large.bin`)).toBe(wantHash);
      const skipLarge = (rel: string): boolean => rel === "large.bin";
      expect(snapshotTree(r, skipLarge)).toEqual(snapshotTree(e, skipLarge));
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

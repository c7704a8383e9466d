import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { BIN, runBin, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { writePatternFile } from "../helpers/bigFile.js";
import { pullUntilInStep } from "../helpers/pull.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

type Served = { bytes: number; endedAt?: number };

/** Bytes the daemon sent as file content over every connection it has closed, from its own log. */
async function bytesServed(daemon: TestDaemon): Promise<{ connections: number; bytes: number }> {
  const res = await runBin(BIN.daemon, ["log", "--db", daemon.db, "--json"]);
  const served = (JSON.parse(res.stdout) as Served[]).filter((s) => s.endedAt !== undefined && s.endedAt !== null);
  return { connections: served.length, bytes: served.reduce((n, s) => n + s.bytes, 0) };
}

/** Waits until the daemon has logged the end of `connections` connections, and returns the bytes it sent. */
async function settledBytes(daemon: TestDaemon, connections: number): Promise<number> {
  const served = await waitFor(async () => {
    const s = await bytesServed(daemon);
    return s.connections >= connections ? s : undefined;
  }, "the daemon to log the client's connections");
  return served.bytes;
}

/** Overwrites `bytes.length` bytes of a file at `at`, in place. */
function overwrite(path: string, at: number, bytes: Buffer): void {
  const content = readFileSync(path);
  bytes.copy(content, at);
  writeFileSync(path, content);
}

async function synced(): Promise<{ e: string; r: string; db: string; daemon: TestDaemon }> {
  const e = tempDir();
  const r = tempDir();
  const db = `${tempDir()}/client.db`;
  await writePatternFile(`${e}/big.bin`, SIZE, 7);
  writeFileSync(`${e}/small.txt`, "small\n");
  const daemon = await startTestDaemon([`code:${e}`]);
  await pullUntilInStep(daemon, db, { name: "code", e, r });
  return { e, r, db, daemon };
}

describe("delta transfer: a modified file R holds travels as its changed blocks", () => {
  test("4 KiB overwritten in the middle of a big file arrives intact, and far fewer bytes than the file travel", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      const before = (await bytesServed(daemon)).bytes;
      expect(before).toBeGreaterThanOrEqual(SIZE);
      overwrite(`${e}/big.bin`, SIZE / 2 + 123, Buffer.alloc(4096, 0xab));
      await pullUntilInStep(daemon, db, { name: "code", e, r });
      const runs = (await bytesServed(daemon)).connections;
      const sent = (await settledBytes(daemon, runs)) - before;
      expect(readFileSync(`${r}/big.bin`).equals(readFileSync(`${e}/big.bin`))).toBe(true);
      // The changed 4 KiB and at most a block either side of it, plus the ops.
      expect(sent).toBeGreaterThanOrEqual(4096);
      expect(sent).toBeLessThan(64 * 1024);
    } finally {
      await daemon.stop();
    }
  });

  test("without the feature (the client does not offer it), the changed file is fetched whole as before", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      const before = (await bytesServed(daemon)).bytes;
      overwrite(`${e}/big.bin`, 1000, Buffer.alloc(4096, 0xcd));
      await pullUntilInStep(daemon, db, { name: "code", e, r }, [], 20_000, { ZYNC_FEATURES: "" });
      const runs = (await bytesServed(daemon)).connections;
      expect((await settledBytes(daemon, runs)) - before).toBeGreaterThanOrEqual(SIZE);
      expect(readFileSync(`${r}/big.bin`).equals(readFileSync(`${e}/big.bin`))).toBe(true);
    } finally {
      await daemon.stop();
    }
  });

  test("a base R edited before the pull becomes a conflict, and R's edit stays as R wrote it", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      overwrite(`${r}/big.bin`, 5000, Buffer.from("R's own edit"));
      const mine = readFileSync(`${r}/big.bin`);
      overwrite(`${e}/big.bin`, SIZE - 10, Buffer.from("E's edit!!"));
      const res = await waitFor(async () => {
        const run = await runBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`]);
        return /in conflict/.test(run.stdout + run.stderr) || run.code !== 0 ? run : undefined;
      }, "a run to report the conflict");
      expect({ code: res.code, out: res.stdout + res.stderr }).toMatchObject({ code: 3, out: expect.stringMatching(/code\/big\.bin/) as unknown as string });
      expect(readFileSync(`${r}/big.bin`).equals(mine)).toBe(true);
    } finally {
      await daemon.stop();
    }
  });
});

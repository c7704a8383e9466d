import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { startClient, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const CLIENTS = 20;
const FILES = 10;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

describe("fan-out", () => {
  test(`${CLIENTS} live clients all converge after a burst of saves, and the daemon reads each saved file once`, async () => {
    const e = tempDir();
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--verbose"] });
    const rs = Array.from({ length: CLIENTS }, () => `${tempDir()}/target`);
    const clients = rs.map((r) => startClient(daemon.url, daemon.tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--interval", "3600"]));
    try {
      // A folder first: every client then holds a cursor the daemon knows, and no file has been read yet.
      mkdirSync(`${e}/ready`);
      await waitFor(() => rs.every((r) => isDir(`${r}/ready`)), "the ready folder on every client", 60_000);
      for (let i = 0; i < FILES; i++) writeFileSync(`${e}/ready/saved-${i}.txt`, `save ${i}\n${"x".repeat(1000 + i * 97)}\n`);
      const want = snapshotTree(e);
      await waitFor(() => rs.every((r) => JSON.stringify(snapshotTree(r)) === JSON.stringify(want)), "every client holding E's tree", 60_000);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await daemon.stop();
    }
    const counts = /served (\d+) file\(s\) from (\d+) read\(s\)/.exec(daemon.stdout() + daemon.stderr());
    expect(counts).not.toBeNull();
    expect(Number(counts![1])).toBeGreaterThanOrEqual(CLIENTS * FILES);
    expect(Number(counts![2])).toBe(FILES);
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon } from "../helpers/bins.js";
import { inotifyWatches } from "../helpers/inotifyWatches.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FILES_PER_FOLDER = 12;

/** Writes `folders` folders (nested up to three deep) of {@link FILES_PER_FOLDER} files each; returns their count. */
function makeTree(root: string, folders: number): number {
  for (let i = 0; i < folders; i++) {
    const dir = `${root}/top${i % 5}/${i >= 5 ? `mid${i % 4}/` : ""}${i >= 20 ? `leaf${i}` : ""}`;
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) writeFileSync(`${dir}/file_${i}_${f}.txt`, `folder ${i} file ${f}\n`);
  }
  // top0..4, mid0..3 under each top, and one leaf per folder from 20 on.
  return 5 + 5 * 4 + (folders - 20);
}

const canCount = existsSync(`/proc/${process.pid}/fdinfo`);

describe("the daemon's watches", () => {
  (canCount ? test : test.skip)(
    canCount
      ? "the daemon places one inotify watch per folder, not one per file, also for a folder made while it runs"
      : "the daemon places one inotify watch per folder (skipped: /proc/<pid>/fdinfo is not available here, so watches cannot be counted)",
    async () => {
      const e = tempDir("zync-e-");
      const folders = makeTree(e, 40);
      // An ignored folder is neither watched nor synced.
      mkdirSync(`${e}/node_modules/pkg`, { recursive: true });
      writeFileSync(`${e}/node_modules/pkg/index.js`, "module.exports = 1;\n");
      const daemon = await startTestDaemon([`code:${e}`]);
      try {
        const pid = daemon.proc.pid!;
        // Every folder plus the root; the files (40 × 12 of them) have none of their own.
        const expected = folders + 1;
        await waitFor(() => (inotifyWatches(pid) ?? 0) >= expected, "the daemon's watches");
        expect(inotifyWatches(pid)).toBe(expected);

        mkdirSync(`${e}/late`);
        for (let f = 0; f < 50; f++) writeFileSync(`${e}/late/new_${f}.txt`, `late ${f}\n`);
        await waitFor(() => inotifyWatches(pid) === expected + 1, "a watch on the new folder");
        // Once the client has received the new files the daemon has recorded them: still no watch per file.
        const r = `${tempDir("zync-r-")}/code`;
        const clientDb = `${tempDir("zync-client-")}/client.db`;
        await waitFor(async () => {
          const run = await runClientOnce(daemon, clientDb, [`code:${r}`]);
          return run.code === 0 && existsSync(`${r}/late/new_49.txt`);
        }, "the new folder's files on R");
        expect(inotifyWatches(pid)).toBe(expected + 1);
      } finally {
        await daemon.stop();
      }
    },
  );
});

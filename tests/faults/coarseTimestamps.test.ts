import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { runClientOnce, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { makeExt4, titled } from "../helpers/loopFs.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";
import { faultSettings } from "../helpers/workload.js";


// 128-byte inodes keep every timestamp in whole seconds.
const coarse = makeExt4(16, { inodeSize: 128 });
if (!coarse.ok) console.warn(`1-second timestamp tests skipped: ${coarse.reason}`);
afterAll(() => {
  if (coarse.ok) coarse.fs.cleanup();
  removeTempDirs();
});

const V0 = "v0\n";
const V1 = "version AAA\n";
const V2 = "version BBB\n";

function contentOf(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Runs `--once` until R holds `want` at `rel`; returns what R holds at the end. */
async function pullUntil(daemon: TestDaemon, clientDb: string, r: string, rel: string, want: string): Promise<string | undefined> {
  await waitFor(
    async () => {
      const run = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      if (run.code !== 0) throw new Error(`--once exited ${run.code}: ${run.stderr}`);
      return contentOf(`${r}/${rel}`) === want;
    },
    `${rel} on R to hold ${JSON.stringify(want)}`,
    10_000,
    200,
  ).catch(() => undefined);
  return contentOf(`${r}/${rel}`);
}

describe("1-second timestamps on E", () => {
  (coarse.ok ? test : test.skip)(
    titled("a same-size rewrite within the same second as the version R already has reaches a live client", coarse),
    async () => {
      if (!coarse.ok) return;
      const e = `${coarse.fs.dir}/live`;
      mkdirSync(e);
      const r = `${tempDir("zync-r-")}/code`;
      const daemon = await startTestDaemon([`code:${e}`]);
      const client = startClient(daemon.url, daemon.tokenFile, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
      try {
        // Each attempt uses its own file; it counts only when R got V1 and E wrote V2 within one second.
        for (let attempt = 0; ; attempt++) {
          const rel = `same-second-${attempt}.txt`;
          await waitFor(() => Date.now() % 1000 < 100, "the start of a second", 2_000, 5);
          writeFileSync(`${e}/${rel}`, V1);
          const recorded = statSync(`${e}/${rel}`).mtimeMs;
          await waitFor(() => contentOf(`${r}/${rel}`) === V1, `${rel} on R`, 10_000, 5);
          writeFileSync(`${e}/${rel}`, V2);
          if (statSync(`${e}/${rel}`).mtimeMs !== recorded) {
            if (attempt < 8) continue;
            throw new Error("could not make R take a version and E rewrite it within one second on this machine");
          }
          await waitFor(() => contentOf(`${r}/${rel}`) === V2, `${rel} on R to hold V2`, 10_000).catch(() => undefined);
          expect({ rel, onR: contentOf(`${r}/${rel}`) }).toEqual({ rel, onR: V2 });
          break;
        }
      } finally {
        await client.stop();
        await daemon.stop();
      }
    },
  );

  (coarse.ok ? test : test.skip)(
    titled("a same-size rewrite with the recorded mtime reaches R through the scan of a restarted daemon", coarse),
    async () => {
      if (!coarse.ok) return;
      const e = `${coarse.fs.dir}/rescan`;
      mkdirSync(e);
      const r = `${tempDir("zync-r-")}/code`;
      const clientDb = `${tempDir("zync-client-")}/client.db`;
      writeFileSync(`${e}/notes.txt`, V1);
      const recorded = statSync(`${e}/notes.txt`);
      const first = await startTestDaemon([`code:${e}`]);
      try {
        expect(await pullUntil(first, clientDb, r, "notes.txt", V1)).toBe(V1);
      } finally {
        await first.stop();
      }
      // While the daemon is down: other bytes of the same size, and the mtime (whole seconds here) put back.
      writeFileSync(`${e}/notes.txt`, V2);
      utimesSync(`${e}/notes.txt`, recorded.atime, recorded.mtime);
      const second = await startTestDaemon([`code:${e}`], { db: first.db, tokenFile: first.tokenFile });
      try {
        expect(await pullUntil(second, clientDb, r, "notes.txt", V2)).toBe(V2);
      } finally {
        await second.stop();
      }
    },
  );
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { BIN, runBin, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { inotifyWatches } from "../helpers/inotifyWatches.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";
import { watchLimitUnavailable, withWatchLimit } from "../helpers/watchLimitNamespace.js";

afterAll(removeTempDirs);

/** Folders below the root, each with one file. */
const FOLDERS = 40;
/** The watch limit of the daemon's user namespace: the root and 9 folders. */
const LIMIT = 10;

type StatusRoot = { name: string; watchLimit: { watched: number; needed: number; limitNeeded: number | null; unwatched: string[]; unwatchedTotal: number } | null };

const unavailable = watchLimitUnavailable();
const it = (name: string, body: () => Promise<void>): void => (unavailable === undefined ? test(name, body) : test.skip(`${name} (skipped: ${unavailable})`, body));

/**
 * The root and its folders, dated an hour back: their stat keys are trusted at once, so the indexer's own
 * verification of racily clean folders never looks into an unwatched folder, and only the rescans can.
 */
function makeTree(): string {
  const e = tempDir("zync-e-");
  const past = new Date(Date.now() - 3_600_000);
  for (let i = 0; i < FOLDERS; i++) {
    mkdirSync(`${e}/d${i}`);
    writeFileSync(`${e}/d${i}/f.txt`, `file ${i}\n`);
    utimesSync(`${e}/d${i}/f.txt`, past, past);
    utimesSync(`${e}/d${i}`, past, past);
  }
  utimesSync(e, past, past);
  return e;
}

async function status(daemon: TestDaemon): Promise<StatusRoot> {
  const res = await runBin(BIN.daemon, ["status", "--db", daemon.db, "--json"]);
  expect(res.code).toBe(0);
  return (JSON.parse(res.stdout) as { roots: StatusRoot[] }).roots[0]!;
}

/** Waits until status shows the root short of watches, and returns one folder that is not watched. */
async function anUnwatchedFolder(daemon: TestDaemon): Promise<string> {
  const root = await waitFor(async () => (await status(daemon)).watchLimit, "status to show the watch limit");
  const folder = root.unwatched.find((f) => /^d\d+$/.test(f));
  expect(folder).toBeDefined();
  return folder!;
}

function clientWait(daemon: TestDaemon, db: string, r: string) {
  return runBin(BIN.client, ["wait", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`]);
}

describe("the system's inotify watch limit, lowered for the daemon alone", () => {
  it("the daemon says in one sentence how many watches it needs and how to raise the limit, status shows it, and a change in an unwatched folder reaches R by the rescans", async () => {
    const e = makeTree();
    const r = `${tempDir("zync-r-")}/code`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--unwatched-rescan-interval", "1"], launcher: withWatchLimit(LIMIT) });
    const live = startClient(daemon.url, daemon.tokenFile, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
    try {
      const sentence = await waitFor(() => /^.*inotify watches.*$/m.exec(daemon.stderr())?.[0], "the watch-limit sentence");
      const missing = FOLDERS + 1 - LIMIT;
      expect(sentence).toBe(
        `zync-daemon: warning: root code needs ${FOLDERS + 1} inotify watches (one per folder) but got only ${LIMIT}, because the system's limit of ${LIMIT} inotify watches is reached; ` +
          `raise it with 'sysctl fs.inotify.max_user_watches=${LIMIT + missing}' (as root); until then its ${missing} unwatched folder(s) are rescanned every 1 s and the rest syncs live`,
      );
      expect(daemon.stderr().match(/needs \d+ inotify watches/g)).toHaveLength(1);
      expect(inotifyWatches(daemon.proc.pid!)).toBe(LIMIT);

      const folder = await anUnwatchedFolder(daemon);
      const root = await status(daemon);
      expect(root.watchLimit).toMatchObject({ watched: LIMIT, needed: FOLDERS + 1, limitNeeded: FOLDERS + 1, unwatchedTotal: missing });
      const text = await runBin(BIN.daemon, ["status", "--db", daemon.db]);
      expect(text.stdout).toContain(`WATCH LIMIT: ${LIMIT} of ${FOLDERS + 1} folders watched (raise it with 'sysctl fs.inotify.max_user_watches=${FOLDERS + 1}'); ${missing} unwatched subtree(s) rescanned every 1 s`);

      await waitFor(() => existsSync(`${r}/d0/f.txt`), "the first sync");
      writeFileSync(`${e}/${folder}/late.txt`, "written where nothing watches\n");
      mkdirSync(`${e}/${folder}/deeper`);
      writeFileSync(`${e}/${folder}/deeper/x.txt`, "and deeper\n");
      await waitFor(() => existsSync(`${r}/${folder}/deeper/x.txt`) && existsSync(`${r}/${folder}/late.txt`), "the unwatched folder's changes on R", 30_000, 50);
      expect(readFileSync(`${r}/${folder}/late.txt`, "utf8")).toBe("written where nothing watches\n");
    } finally {
      await live.stop();
      await daemon.stop();
    }
  });

  it("watched folders keep syncing live, and a barrier passes with the unwatched folders' changes included (rescanned for it)", async () => {
    const e = makeTree();
    const r = `${tempDir("zync-r-")}/code`;
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    // Rescans an hour apart: within the test only the watcher and the barrier's own rescan can bring changes.
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--unwatched-rescan-interval", "3600"], launcher: withWatchLimit(LIMIT) });
    try {
      const folder = await anUnwatchedFolder(daemon);
      const first = await clientWait(daemon, clientDb, r);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });

      const live = startClient(daemon.url, daemon.tokenFile, clientDb, [`code:${r}`]);
      try {
        // The root folder is watched first, so a file at the top arrives by its event.
        writeFileSync(`${e}/top.txt`, "live\n");
        await waitFor(() => existsSync(`${r}/top.txt`), "a change in a watched folder on R");
      } finally {
        await live.stop();
      }

      writeFileSync(`${e}/${folder}/f.txt`, "changed where nothing watches\n");
      const res = await clientWait(daemon, clientDb, r);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${r}/${folder}/f.txt`, "utf8")).toBe("changed where nothing watches\n");
    } finally {
      await daemon.stop();
    }
  });

  it("with no watch at all to be had, the root is kept in step by rescans and a barrier still passes instead of timing out", async () => {
    const e = makeTree();
    const r = `${tempDir("zync-r-")}/code`;
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--unwatched-rescan-interval", "3600"], launcher: withWatchLimit(0) });
    try {
      const root = await waitFor(async () => (await status(daemon)).watchLimit, "status to show the watch limit");
      expect(root).toMatchObject({ watched: 0, needed: FOLDERS + 1, unwatched: [""] });
      writeFileSync(`${e}/d3/f.txt`, "saved just before the wait\n");
      writeFileSync(`${e}/new.txt`, "new at the top\n");
      const res = await clientWait(daemon, clientDb, r);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${r}/d3/f.txt`, "utf8")).toBe("saved just before the wait\n");
      expect(readFileSync(`${r}/new.txt`, "utf8")).toBe("new at the top\n");
    } finally {
      await daemon.stop();
    }
  });
});

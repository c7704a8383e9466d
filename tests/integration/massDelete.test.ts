import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { BIN, runBin, runClientOnce, startClient, startTestDaemon, writeToken, type TestDaemon } from "../helpers/bins.js";
import { clientLogJson, clientStatusJson, daemonStatusJson, expectOneSentence, numberedFiles, writeTree } from "../helpers/operatorCli.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** E (a root inside a parent folder, so its contents can be moved out of it) and R, after a first --once sync. */
type Pair = {
  /** The parent of E's root, on the same file system. */
  outside: string;
  e: string;
  r: string;
  daemon: TestDaemon;
  clientDb: string;
  once(extra?: readonly string[]): ReturnType<typeof runClientOnce>;
  daemonCaughtUp(): Promise<void>;
};

async function withPair(files: Record<string, string>, daemonArgs: readonly string[], body: (p: Pair) => Promise<void>): Promise<void> {
  const outside = tempDir("zync-e-parent-");
  const e = `${outside}/root`;
  mkdirSync(e);
  writeTree(e, files);
  const r = `${tempDir("zync-r-")}/code`;
  const daemon = await startTestDaemon([`code:${e}`], { args: daemonArgs });
  try {
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    const once = (extra: readonly string[] = []): ReturnType<typeof runClientOnce> => runClientOnce(daemon, clientDb, [`code:${r}`], extra);
    const first = await once();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(snapshotTree(r)).toEqual(snapshotTree(e));
    await body({ outside, e, r, daemon, clientDb, once, daemonCaughtUp: () => waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e) });
  } finally {
    await daemon.stop();
  }
}

/** Deletes the first `count` of the numbered files under `dir` on E. */
function deleteNumbered(e: string, dir: string, count: number): void {
  for (const rel of Object.keys(numberedFiles(dir, count))) unlinkSync(`${e}/${rel}`);
}

const cursorOf = async (p: Pair): Promise<number> => (await clientStatusJson(p.clientDb)).roots.find((x) => x.name === "code")!.cursor;

// The daemon's own guard would halt the root on these deletions; here it records them, so the client's guard is what is tested.
const RECORD_EVERYTHING = ["--allow-mass-delete"];

describe("the client refuses a pull that would delete most of a root", () => {
  test("deleting 30 of 40 files on E: --once exits 1 with one sentence naming --allow-mass-delete and changes nothing; the flag lets it through", async () => {
    await withPair(numberedFiles("src", 40), RECORD_EVERYTHING, async (p) => {
      deleteNumbered(p.e, "src", 30);
      writeTree(p.e, { "added-meanwhile.txt": "new on E\n" });
      await p.daemonCaughtUp();
      const rBefore = snapshotTree(p.r);
      const cursorBefore = await cursorOf(p);

      const refused = await p.once();
      expectOneSentence(refused, "zync-client", 1, /--allow-mass-delete/);
      expect(refused.stderr).toMatch(/\b30\b/);
      expect(refused.stderr).toMatch(/\b40\b/);
      // Nothing at all was applied: not the deletions, not the addition made at the same time, not the cursor.
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(existsSync(`${p.r}/added-meanwhile.txt`)).toBe(false);
      expect(await cursorOf(p)).toBe(cursorBefore);
      // The refused pull is in the history as a failed one.
      const [newest] = await clientLogJson(p.clientDb);
      expect(newest).toMatchObject({ kind: "pull", deleted: 0 });
      expect(newest!.error).toMatch(/--allow-mass-delete/);

      // Running again without the flag refuses again.
      expect((await p.once()).code).toBe(1);
      expect(snapshotTree(p.r)).toEqual(rBefore);

      const allowed = await p.once(["--allow-mass-delete"]);
      expect({ code: allowed.code, stderr: allowed.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
      expect(await clientLogJson(p.clientDb)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "pull", deleted: 30 })]));
    });
  });

  test("--max-delete 90 lets 30 of 40 deletions through", async () => {
    await withPair(numberedFiles("src", 40), RECORD_EVERYTHING, async (p) => {
      deleteNumbered(p.e, "src", 30);
      await p.daemonCaughtUp();
      const run = await p.once(["--max-delete", "90"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
    });
  });

  test("a lower --max-delete refuses what the default allows", async () => {
    await withPair(numberedFiles("src", 100), RECORD_EVERYTHING, async (p) => {
      // 30 of 100 is within the default 50 % but not within 25 %.
      deleteNumbered(p.e, "src", 30);
      await p.daemonCaughtUp();
      const rBefore = snapshotTree(p.r);
      const refused = await p.once(["--max-delete", "25"]);
      expectOneSentence(refused, "zync-client", 1, /--allow-mass-delete/);
      expect(snapshotTree(p.r)).toEqual(rBefore);
      const run = await p.once();
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
    });
  });

  test("a few deletions (20 files or fewer) pass without the flag, even when they are most of the root", async () => {
    await withPair(numberedFiles("src", 24), RECORD_EVERYTHING, async (p) => {
      deleteNumbered(p.e, "src", 20);
      await p.daemonCaughtUp();
      const run = await p.once();
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
      expect(Object.keys(snapshotTree(p.r)).filter((k) => k.endsWith(".txt"))).toHaveLength(4);
    });
  });

  test("a dry run warns that a real pull would refuse, lists the deletions, and changes nothing", async () => {
    await withPair(numberedFiles("src", 40), RECORD_EVERYTHING, async (p) => {
      deleteNumbered(p.e, "src", 30);
      await p.daemonCaughtUp();
      const rBefore = snapshotTree(p.r);
      const dry = await p.once(["--dry-run"]);
      expect(dry.code).toBe(0);
      expect(dry.stderr).toMatch(/would refuse/);
      expect(dry.stderr).toMatch(/--allow-mass-delete/);
      expect(dry.stdout.split("\n").filter((l) => l.startsWith("would delete "))).toHaveLength(30);
      expect(dry.stdout).toMatch(/0 to add, 0 to change, 30 to delete/);
      expect(snapshotTree(p.r)).toEqual(rBefore);
    });
  });
});

/** Polls `zync-daemon status --json` until root `code` is (or is no longer) halted; returns the reason or null. */
async function haltedState(db: string, halted: boolean): Promise<string | null> {
  let last: string | null = null;
  await waitFor(async () => {
    const root = (await daemonStatusJson(db)).roots.find((x) => x.name === "code");
    if (root === undefined) throw new Error("zync-daemon status lists no root code");
    last = root.halted;
    return halted ? last !== null : last === null;
  }, `zync-daemon status to show root code ${halted ? "halted" : "not halted"}`);
  return last;
}

describe("the daemon halts a root that suddenly loses most of its files", () => {
  const FILES = { ...numberedFiles("src", 30), ...numberedFiles("src/deep", 10) };

  test("moving the root's contents away halts it, R keeps every file, and moving them back resumes it", async () => {
    await withPair(FILES, ["--rescan-interval", "1"], async (p) => {
      const rBefore = snapshotTree(p.r);
      const before = await daemonStatusJson(p.daemon.db);
      expect(before.roots.find((x) => x.name === "code")).toEqual(expect.objectContaining({ files: 40, halted: null }));

      renameSync(`${p.e}/src`, `${p.outside}/away`);
      await waitFor(() => /halted/.test(p.daemon.stderr()), "the daemon to say the root is halted");
      expect(p.daemon.stderr()).toMatch(/\bcode\b.*halted|halted.*\bcode\b/);
      const reason = await haltedState(p.daemon.db, true);
      expect(typeof reason).toBe("string");
      const human = await runBin(BIN.daemon, ["status", "--db", p.daemon.db]);
      expect({ code: human.code, stderr: human.stderr }).toEqual({ code: 0, stderr: "" });
      expect(human.stdout).toMatch(/root code: .*HALTED/);
      // Nothing was recorded for the vanished files: the head did not move and the daemon still lists all 40.
      const halted = await daemonStatusJson(p.daemon.db);
      expect({ head: halted.head, files: halted.roots.find((x) => x.name === "code")?.files }).toEqual({ head: before.head, files: 40 });

      // A client pulling now deletes nothing on R, and says (exit 6) that E records nothing new for the root.
      const run = await p.once();
      expect(run.code).toBe(6);
      expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^zync-client: E has halted root code since \S+: .+; nothing new is recorded for it on E until that is resolved there; R has everything E recorded before$/)]);
      expect(snapshotTree(p.r)).toEqual(rBefore);
      const json = await p.once(["--json"]);
      expect(json.code).toBe(6);
      expect(JSON.parse(json.stdout)).toMatchObject({ halted: [{ root: "code", reason: reason, since: expect.any(Number) }] });
      const rStatus = await runBin(BIN.client, ["status", "--db", p.clientDb, "--server", p.daemon.url, "--token-file", p.daemon.tokenFile]);
      expect(rStatus.code).toBe(0);
      expect(rStatus.stdout).toMatch(/^ {2}halted on E since .+; nothing new is recorded for it there$/m);

      // The files come back: the root resumes by itself.
      renameSync(`${p.outside}/away`, `${p.e}/src`);
      await haltedState(p.daemon.db, false);
      await waitFor(() => /resumed/.test(p.daemon.stderr()), "the daemon to say the root resumed");
      const after = await daemonStatusJson(p.daemon.db);
      expect(after.roots.find((x) => x.name === "code")).toEqual(expect.objectContaining({ files: 40, halted: null }));
      expect(after.head).toBe(before.head);

      const again = await p.once();
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));

      // Recording goes on as usual afterwards.
      writeTree(p.e, { "src/after.txt": "recorded after the resume\n" });
      await p.daemonCaughtUp();
      const last = await p.once();
      expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
    });
  });

  test("a live client says when E halts one of its roots and when E resumes it, without a reconnect", async () => {
    await withPair(FILES, ["--rescan-interval", "1"], async (p) => {
      const live = startClient(p.daemon.url, p.daemon.tokenFile, `${tempDir("zync-live-")}/live.db`, [`code:${p.r}`]);
      try {
        const said = (): string => live.stdout() + live.stderr();
        await waitFor(() => /connected to/.test(said()), "the live client to connect");
        renameSync(`${p.e}/src`, `${p.outside}/away`);
        await waitFor(() => /E has halted root code since/.test(live.stderr()), "the live client to report the halt");
        renameSync(`${p.outside}/away`, `${p.e}/src`);
        await waitFor(() => /E resumed recording root code/.test(said()), "the live client to report the resume");
        expect(said().match(/connected to/g)).toHaveLength(1);
        expect(said().match(/E has halted root code/g)).toHaveLength(1);
      } finally {
        await live.stop();
      }
    });
  });

  test("with --allow-mass-delete the same move is recorded, and a client with --allow-mass-delete deletes R's files", async () => {
    await withPair(FILES, ["--rescan-interval", "1", "--allow-mass-delete"], async (p) => {
      renameSync(`${p.e}/src`, `${p.outside}/away`);
      await p.daemonCaughtUp();
      const status = await daemonStatusJson(p.daemon.db);
      expect(status.roots.find((x) => x.name === "code")).toEqual(expect.objectContaining({ files: 0, halted: null }));
      expect(p.daemon.stderr()).not.toMatch(/halted/);

      const run = await p.once(["--allow-mass-delete"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual({});
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
    });
  });

  test("the root folder itself vanishing halts the root even with --allow-mass-delete, and its return resumes it", async () => {
    await withPair(FILES, ["--rescan-interval", "1", "--allow-mass-delete"], async (p) => {
      const rBefore = snapshotTree(p.r);
      const headBefore = (await daemonStatusJson(p.daemon.db)).head;
      renameSync(p.e, `${p.outside}/unmounted`);
      const reason = await haltedState(p.daemon.db, true);
      expect(reason).toMatch(/gone|unmounted/);
      expect(p.daemon.stderr()).toMatch(/halted/);
      expect((await daemonStatusJson(p.daemon.db)).head).toBe(headBefore);
      const run = await p.once(["--allow-mass-delete"]);
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/E has halted root code since .*(gone|unmounted)/);
      expect(snapshotTree(p.r)).toEqual(rBefore);

      renameSync(`${p.outside}/unmounted`, p.e);
      await haltedState(p.daemon.db, false);
      expect((await daemonStatusJson(p.daemon.db)).head).toBe(headBefore);
      const again = await p.once(["--allow-mass-delete"]);
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(rBefore);
    });
  });
});

describe("--max-delete is a percentage", () => {
  test.each(["-5", "150"])("--max-delete %s is refused with one sentence (exit 2) by both commands", async (value) => {
    const dir = tempDir("zync-maxdel-");
    mkdirSync(`${dir}/e`);
    const daemon = await runBin(BIN.daemon, ["--port", "0", "--db", `${dir}/sync.db`, "--dirs", `code:${dir}/e`, "--max-delete", value]);
    expectOneSentence(daemon, "zync-daemon", 2, /--max-delete/);
    const client = await runBin(BIN.client, ["--once", "--server", "ws://127.0.0.1:9", "--token-file", writeToken(`${dir}/token`, "t"), "--db", `${dir}/c.db`, "--dirs", `code:${dir}/r`, "--max-delete", value]);
    expectOneSentence(client, "zync-client", 2, /--max-delete/);
    expect(existsSync(`${dir}/c.db`)).toBe(false);
  });
});

describe("a daemon started while a root's files are away", () => {
  test("halts the root at once, records nothing, and resumes when they are back", async () => {
    const outside = tempDir("zync-e-parent-");
    const e = `${outside}/root`;
    writeTree(e, { ...numberedFiles("src", 30), ...numberedFiles("src/deep", 10) });
    const r = `${tempDir("zync-r-")}/code`;
    const state = tempDir("zync-daemon-");
    const opts = { db: `${state}/sync.db`, tokenFile: `${state}/sync.db.token`, args: ["--rescan-interval", "1"] };
    const clientDb = `${tempDir("zync-client-")}/client.db`;

    let daemon = await startTestDaemon([`code:${e}`], opts);
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      await daemon.stop();
    }
    const rBefore = snapshotTree(r);
    expect(Object.keys(rBefore).length).toBeGreaterThan(40);
    const headBefore = (await daemonStatusJson(opts.db)).head;

    // The disk is "unmounted" while the daemon is down.
    renameSync(`${e}/src`, `${outside}/away`);
    daemon = await startTestDaemon([`code:${e}`], opts);
    try {
      expect(daemon.stderr()).toMatch(/halted/);
      const status = await daemonStatusJson(opts.db);
      expect(status.roots.find((x) => x.name === "code")?.halted).toEqual(expect.any(String));
      expect(status.head).toBe(headBefore);
      const run = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/E has halted root code since .*40 of its 40 files vanished/);
      expect(snapshotTree(r)).toEqual(rBefore);

      renameSync(`${outside}/away`, `${e}/src`);
      await haltedState(opts.db, false);
      expect((await daemonStatusJson(opts.db)).head).toBe(headBefore);
      const again = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(rBefore);
    } finally {
      await daemon.stop();
    }
  });
});

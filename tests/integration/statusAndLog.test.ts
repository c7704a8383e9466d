import { afterAll, describe, expect, test } from "@jest/globals";
import { readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { expectOneSentence } from "../helpers/operatorCli.js";
import { BIN, runBin, runClientOnce, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { clientLogJson, clientStatusJson, daemonLogJson, daemonStatusJson, writeTree, type ServedJson } from "../helpers/operatorCli.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { pushUpstream, stagedSessionId } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** Three files at the top of the root (so a first pull writes exactly three entries), 2109 bytes in all. */
const FILES = { "a.txt": "a".repeat(100), "b.txt": "b".repeat(2000), "shared.txt": "original\n" };
const FILES_BYTES = 2109;

type Pair = {
  e: string;
  r: string;
  daemon: TestDaemon;
  clientDb: string;
  once(extra?: readonly string[]): ReturnType<typeof runClientOnce>;
  /** Waits until the daemon has recorded E as it is now (opens a short raw connection of its own). */
  daemonCaughtUp(): Promise<void>;
  /** `zync-client status --json` asking the daemon. */
  status(): ReturnType<typeof clientStatusJson>;
};

/** E with FILES, a running daemon, and R's client state before any pull. */
async function withPair(body: (p: Pair) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  writeTree(e, FILES);
  const r = `${tempDir("zync-r-")}/code`;
  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    await body({
      e,
      r,
      daemon,
      clientDb,
      once: (extra = []) => runClientOnce(daemon, clientDb, [`code:${r}`], extra),
      daemonCaughtUp: () => waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e),
      status: () => clientStatusJson(clientDb, { server: daemon.url, tokenFile: daemon.tokenFile }),
    });
  } finally {
    await daemon.stop();
  }
}

async function firstSync(p: Pair): Promise<void> {
  const first = await p.once();
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
  expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
}

const isIso = (s: string | null | undefined): boolean => typeof s === "string" && new Date(s).toISOString() === s;

describe("zync-client status", () => {
  test("reports the daemon's head, each root's cursor, the last sync, conflicts and R's unpushed edits", async () => {
    await withPair(async (p) => {
      const started = Date.now();
      await firstSync(p);
      const head = (await daemonStatusJson(p.daemon.db)).head;
      expect(head).toBeGreaterThan(0);

      const s = await p.status();
      expect(s.daemon).toEqual({ url: p.daemon.url, reachable: true, head });
      expect(s.roots).toEqual([{ name: "code", path: p.r, cursor: head, behind: 0, pendingUpstream: 0, caseInsensitive: false, keepsModes: true }]);
      expect(isIso(s.lastSync)).toBe(true);
      expect(Date.parse(s.lastSync!)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(s.lastSync!)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(s.conflicts).toEqual([]);
      expect(s.notWritten).toEqual([]);

      // Naming the roots gives the same answer.
      const named = await clientStatusJson(p.clientDb, { server: p.daemon.url, tokenFile: p.daemon.tokenFile, dirs: [`code:${p.r}`] });
      expect(named.roots).toEqual(s.roots);

      // R's own edits wait to go upstream.
      writeFileSync(`${p.r}/a.txt`, "edited on R\n");
      writeFileSync(`${p.r}/r-only.txt`, "only on R\n");
      expect((await p.status()).roots[0]!.pendingUpstream).toBe(2);

      // A conflict, and a change on E that lands.
      writeFileSync(`${p.r}/shared.txt`, "edited on R, kept\n");
      writeFileSync(`${p.e}/shared.txt`, "edited on E at the same time\n");
      writeFileSync(`${p.e}/b.txt`, "b".repeat(3000));
      await p.daemonCaughtUp();
      // Before the pull the client is behind the daemon.
      const newHead = (await daemonStatusJson(p.daemon.db)).head;
      expect(newHead).toBeGreaterThan(head);
      const behind = await p.status();
      expect(behind.roots[0]).toMatchObject({ cursor: head, behind: newHead - head });
      expect((await p.once()).code).toBe(3);

      const c = await p.status();
      expect(c.daemon).toEqual({ url: p.daemon.url, reachable: true, head: newHead });
      expect(c.roots).toEqual([{ name: "code", path: p.r, cursor: newHead, behind: 0, pendingUpstream: 3, caseInsensitive: false, keepsModes: true }]);
      expect(c.conflicts).toHaveLength(1);
      expect(c.conflicts[0]).toMatchObject({ root: "code", path: "shared.txt" });
      expect(isIso(c.conflicts[0]!.detected)).toBe(true);
      expect(Date.parse(c.lastSync!)).toBeGreaterThanOrEqual(Date.parse(s.lastSync!));

      const human = await runBin(BIN.client, ["status", "--db", p.clientDb, "--server", p.daemon.url, "--token-file", p.daemon.tokenFile]);
      expect({ code: human.code, stderr: human.stderr }).toEqual({ code: 0, stderr: "" });
      expect(human.stdout).toContain(`reachable, head ${newHead}`);
      expect(human.stdout).toContain(`root code: ${p.r}, cursor ${newHead}, up to date, 3 change(s) of R's own not pushed upstream`);
      expect(human.stdout).toMatch(/^conflicts: 1$/m);
      expect(human.stdout).toMatch(/^ {2}code\/shared\.txt \(since /m);
    });
  });

  test("with the daemon down it still exits 0, says the daemon is unreachable, and shows the local state", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      const up = await p.status();
      await p.daemon.stop();

      const down = await p.status();
      expect(down.daemon.reachable).toBe(false);
      expect(down.daemon.url).toBe(p.daemon.url);
      expect(down.daemon.head).toBeUndefined();
      expect(down.daemon.error).toMatch(/cannot reach/);
      expect(down.roots).toEqual([{ name: "code", path: p.r, cursor: up.roots[0]!.cursor, pendingUpstream: 0, caseInsensitive: false, keepsModes: true }]);
      expect(down.lastSync).toBe(up.lastSync);

      const human = await runBin(BIN.client, ["status", "--db", p.clientDb, "--server", p.daemon.url, "--token-file", p.daemon.tokenFile]);
      expect({ code: human.code, stderr: human.stderr }).toEqual({ code: 0, stderr: "" });
      expect(human.stdout).toMatch(/^daemon: .*(cannot reach|unreachable)/m);
      expect(human.stdout).toMatch(/^root code: /m);
    });
  });

  test("the subcommand may stand after the options, even after --dirs: the same status as when it comes first", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      const common = ["--db", p.clientDb, "--server", p.daemon.url, "--token-file", p.daemon.tokenFile];
      const first = await runBin(BIN.client, ["status", ...common, "--dirs", `code:${p.r}`]);
      const last = await runBin(BIN.client, [...common, "--dirs", `code:${p.r}`, "status"]);
      expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
      expect(last.stdout).toBe(first.stdout);
      expect(last.stdout).toMatch(/^root code: /m);
    });
  });

  test("without a token it does not ask the daemon and says so", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      const s = await clientStatusJson(p.clientDb, { server: p.daemon.url });
      expect(s.daemon.reachable).toBe(false);
      expect(s.daemon.error).toMatch(/token/);
      expect(s.roots[0]).toMatchObject({ name: "code", path: p.r });
    });
  });
});

describe("zync-client log", () => {
  test("one row per pull with files, deletions and bytes, newest first, and a row for a push", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      const [first, ...none] = await clientLogJson(p.clientDb);
      expect(none).toEqual([]);
      expect(first).toMatchObject({ kind: "pull", files: 3, deleted: 0, bytes: FILES_BYTES, conflicts: 0 });
      expect(first!.error).toBeUndefined();
      expect(first!.endedAt).toBeGreaterThanOrEqual(first!.startedAt);

      writeFileSync(`${p.e}/b.txt`, "b".repeat(3000));
      unlinkSync(`${p.e}/a.txt`);
      await p.daemonCaughtUp();
      expect((await p.once()).code).toBe(0);
      const afterSecond = await clientLogJson(p.clientDb);
      expect(afterSecond).toHaveLength(2);
      expect(afterSecond[0]).toMatchObject({ kind: "pull", files: 1, deleted: 1, bytes: 3000, conflicts: 0 });
      expect(afterSecond[0]!.id).toBeGreaterThan(afterSecond[1]!.id);
      expect(afterSecond[1]).toEqual(first);

      // A pull that finds a conflict counts it.
      writeFileSync(`${p.r}/shared.txt`, "edited on R, kept\n");
      writeFileSync(`${p.e}/shared.txt`, "edited on E at the same time\n");
      await p.daemonCaughtUp();
      expect((await p.once()).code).toBe(3);
      const [conflicted] = await clientLogJson(p.clientDb);
      expect(conflicted).toMatchObject({ kind: "pull", files: 0, deleted: 0, bytes: 0, conflicts: 1 });
      expect(conflicted!.error).toBeUndefined();

      // A push is a row of its own.
      const push = await pushUpstream(p.daemon, p.clientDb, [`code:${p.r}`]);
      expect({ code: push.code, stderr: push.stderr }).toEqual({ code: 0, stderr: "" });
      const afterPush = await clientLogJson(p.clientDb);
      expect(afterPush).toHaveLength(4);
      expect(afterPush[0]).toMatchObject({ kind: "push", files: 1, bytes: "edited on R, kept\n".length });
    });
  });

  test("a pull that fails because the daemon is down is recorded with its error", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      const before = await clientLogJson(p.clientDb);
      await p.daemon.stop();
      const failed = await p.once();
      expect(failed.code).toBe(4);
      expect(failed.stderr).toMatch(/cannot reach/);

      const after = await clientLogJson(p.clientDb);
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]).toMatchObject({ kind: "pull", files: 0, deleted: 0, bytes: 0 });
      expect(after[0]!.error).toMatch(/cannot reach/);
      expect(after.slice(1)).toEqual(before);
      // The failed pull is not the last successful one.
      const status = await clientStatusJson(p.clientDb);
      expect(status.lastSync).toBe(new Date(before[0]!.endedAt!).toISOString());
      const human = await runBin(BIN.client, ["log", "--db", p.clientDb]);
      expect(human.stdout).toMatch(/error: cannot reach/);
    });
  });

  test("--limit caps the list, newest first, and the table prints one line per run", async () => {
    await withPair(async (p) => {
      await firstSync(p);
      expect((await p.once()).code).toBe(0);
      expect((await p.once()).code).toBe(0);
      const all = await clientLogJson(p.clientDb);
      expect(all).toHaveLength(3);
      const limited = await runBin(BIN.client, ["log", "--json", "--limit", "2", "--db", p.clientDb]);
      expect({ code: limited.code, stderr: limited.stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(limited.stdout)).toEqual(all.slice(0, 2));

      const human = await runBin(BIN.client, ["log", "--db", p.clientDb]);
      expect({ code: human.code, stderr: human.stderr }).toEqual({ code: 0, stderr: "" });
      const rows = human.stdout.trim().split("\n");
      expect(rows[0]).toMatch(/^STARTED\s+KIND\s+SECONDS\s+FILES\s+DELETED\s+BYTES\s+CONFLICTS\s+RESULT$/);
      expect(rows.slice(1)).toHaveLength(3);
      expect(rows.slice(1).every((l) => /\bpull\b.*\bok$/.test(l))).toBe(true);
    });
  });
});

describe("zync-daemon status and log", () => {
  test("show the running daemon, its roots, clients (connected or not), staged sessions and served connections", async () => {
    await withPair(async (p) => {
      await firstSync(p);

      // The first pull is the first connection the daemon served: it says who the client is.
      const served = await waitFor(async () => {
        const rows = await daemonLogJson(p.daemon.db);
        return rows.length === 1 && rows[0]!.endedAt !== undefined ? rows[0]! : undefined;
      }, "the daemon's log to show the finished first pull");
      expect(served).toMatchObject({ files: 3, bytes: FILES_BYTES });
      expect(served.changes).toBeGreaterThanOrEqual(3);
      expect(served.error).toBeUndefined();
      expect(typeof served.clientId).toBe("string");
      const clientId = served.clientId!;

      const s = await daemonStatusJson(p.daemon.db);
      expect(s.runningPid).toBe(p.daemon.proc.pid);
      expect(s.head).toBeGreaterThan(0);
      expect(s.roots).toEqual([{ name: "code", path: p.e, files: 3, halted: null, watchLimit: null }]);
      expect(s.sessions).toEqual([]);
      const me = s.clients.find((c) => c.id === clientId);
      expect(me).toMatchObject({ connected: false, ackedSeq: s.head, behind: 0 });
      expect(isIso(me!.lastSeen)).toBe(true);

      // A live client shows as connected while it runs, and as not connected once it stopped.
      const live = startClient(p.daemon.url, p.daemon.tokenFile, p.clientDb, [`code:${p.r}`]);
      try {
        await waitFor(async () => (await daemonStatusJson(p.daemon.db)).clients.find((c) => c.id === clientId)?.connected === true, "the live client to show as connected");
        const open = (await daemonLogJson(p.daemon.db)).filter((r) => r.clientId === clientId && r.endedAt === undefined);
        expect(open).toHaveLength(1);
      } finally {
        await live.stop();
      }
      await waitFor(async () => (await daemonStatusJson(p.daemon.db)).clients.find((c) => c.id === clientId)?.connected === false, "the stopped client to show as not connected");

      // A staged upstream session is listed.
      writeFileSync(`${p.r}/a.txt`, "fixed on R\n");
      const push = await pushUpstream(p.daemon, p.clientDb, [`code:${p.r}`]);
      expect({ code: push.code, stderr: push.stderr }).toEqual({ code: 0, stderr: "" });
      const session = stagedSessionId(push);
      const withSession = await daemonStatusJson(p.daemon.db);
      expect(withSession.sessions).toHaveLength(1);
      expect(withSession.sessions[0]).toMatchObject({ id: session, status: "pending", root: "code", changes: 1, pending: 1 });

      // Every connection is in the log, newest first, the first pull last.
      const rows: ServedJson[] = await waitFor(async () => {
        const all = await daemonLogJson(p.daemon.db);
        return all.every((r) => r.endedAt !== undefined) ? all : undefined;
      }, "every connection in the daemon's log to have ended");
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows[rows.length - 1]).toEqual(served);
      expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => b - a));
      expect(rows.every((r) => r.clientId === clientId)).toBe(true);

      // The human forms.
      const status = await runBin(BIN.daemon, ["status", "--db", p.daemon.db]);
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: "" });
      expect(status.stdout).toContain(`daemon: running (pid ${p.daemon.proc.pid})`);
      expect(status.stdout).toContain(`root code: ${p.e}, 3 files`);
      expect(status.stdout).toContain(`client ${clientId}: not connected`);
      expect(status.stdout).toMatch(new RegExp(`upstream session ${session} \\(pending\\) for code`));
      const log = await runBin(BIN.daemon, ["log", "--db", p.daemon.db]);
      expect({ code: log.code, stderr: log.stderr }).toEqual({ code: 0, stderr: "" });
      const lines = log.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^STARTED\s+SECONDS\s+CLIENT\s+CHANGES\s+FILES\s+BYTES\s+RESULT$/);
      expect(lines).toHaveLength(rows.length + 1);

      // Once the daemon stopped, status says so.
      await p.daemon.stop();
      const stopped = await daemonStatusJson(p.daemon.db);
      expect(stopped.runningPid).toBeNull();
      expect(stopped.clients.find((c) => c.id === clientId)?.connected).toBe(false);
    });
  });
});

describe("status and log refuse what they cannot show with one sentence (exit 2)", () => {
  test("a database that does not exist, and nothing is created", async () => {
    const dir = tempDir("zync-nodb-");
    for (const [bin, name, args] of [
      [BIN.client, "zync-client", ["status", "--json", "--db", `${dir}/client.db`]],
      [BIN.client, "zync-client", ["log", "--db", `${dir}/client.db`]],
      [BIN.daemon, "zync-daemon", ["status", "--db", `${dir}/sync.db`]],
      [BIN.daemon, "zync-daemon", ["log", "--json", "--db", `${dir}/sync.db`]],
    ] as const) {
      expectOneSentence(await runBin(bin, args), name, 2, /--db/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  test.each(["0", "1.5", "-3"])("--limit %s", async (limit) => {
    await withPair(async (p) => {
      await firstSync(p);
      expectOneSentence(await runBin(BIN.client, ["log", "--db", p.clientDb, "--limit", limit]), "zync-client", 2, /--limit/);
      expectOneSentence(await runBin(BIN.daemon, ["log", "--db", p.daemon.db, "--limit", limit]), "zync-daemon", 2, /--limit/);
    });
  });
});

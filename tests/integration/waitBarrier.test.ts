import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { BIN, runBin, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { numberedFiles, writeTree } from "../helpers/operatorCli.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

// A long debounce: a save is recorded only 1.5 s after it is made, so a plain pull right after the save misses it.
// Only a barrier that waits for E's watcher to pass its cookie finds it.
const SLOW_RECORDING = ["--debounce", "1500"];

type Pair = { outside: string; e: string; r: string; daemon: TestDaemon; clientDb: string; wait(extra?: readonly string[]): ReturnType<typeof runBin> };

async function withPair(body: (p: Pair) => Promise<void>, files: Record<string, string> = { "a.txt": "a v1\n" }): Promise<void> {
  const outside = tempDir("zync-e-parent-");
  const e = `${outside}/root`;
  mkdirSync(e);
  writeTree(e, files);
  const r = `${tempDir("zync-r-")}/code`;
  const daemon = await startTestDaemon([`code:${e}`], { args: SLOW_RECORDING });
  const clientDb = `${tempDir("zync-client-")}/client.db`;
  const wait = (extra: readonly string[] = []) =>
    runBin(BIN.client, ["wait", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`, ...extra]);
  try {
    const first = await wait();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    await body({ outside, e, r, daemon, clientDb, wait });
  } finally {
    await daemon.stop();
  }
}

describe("zync-client wait: in step with E as of the moment it is asked", () => {
  test("a save on E just before the wait is on R when wait returns, and no cookie is left or synced", async () => {
    await withPair(async (p) => {
      writeFileSync(`${p.e}/a.txt`, "a v2, saved just before the wait\n");
      writeFileSync(`${p.e}/new.txt`, "new\n");
      const res = await p.wait();
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${p.r}/a.txt`, "utf8")).toBe("a v2, saved just before the wait\n");
      expect(readFileSync(`${p.r}/new.txt`, "utf8")).toBe("new\n");
      await waitFor(() => !readdirSync(p.e).some((n) => n.startsWith(".zync-cookie-")), "the cookie to be removed on E");
      expect(readdirSync(p.r).filter((n) => n.startsWith(".zync-cookie-"))).toEqual([]);
    });
  });

  test("beside a running live client, wait and --once wait for that client and exit 0 once it has the save", async () => {
    await withPair(async (p) => {
      const live = startClient(p.daemon.url, p.daemon.tokenFile, p.clientDb, [`code:${p.r}`]);
      try {
        await waitFor(() => /connected to/.test(live.stdout() + live.stderr()), "the live client to connect");
        writeFileSync(`${p.e}/a.txt`, "a v3, with the service running\n");
        const res = await p.wait(["--verbose"]);
        expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
        expect(res.stdout).toMatch(/the running client \(pid \d+\) is in step with E through \d+/);
        expect(readFileSync(`${p.r}/a.txt`, "utf8")).toBe("a v3, with the service running\n");

        writeFileSync(`${p.e}/b.txt`, "b, then a one-shot run\n");
        const once = await runBin(BIN.client, ["--once", "--server", p.daemon.url, "--token-file", p.daemon.tokenFile, "--db", p.clientDb, "--dirs", `code:${p.r}`]);
        expect({ code: once.code, stderr: once.stderr }).toEqual({ code: 0, stderr: "" });
        expect(readFileSync(`${p.r}/b.txt`, "utf8")).toBe("b, then a one-shot run\n");
      } finally {
        await live.stop();
      }
    });
  });

  test("a running client that cannot reach E makes wait give up at its timeout with exit 7 and one sentence", async () => {
    await withPair(async (p) => {
      // The service points at a port where nothing listens, so it holds the database but never catches up.
      const stuck = startClient("ws://127.0.0.1:9", p.daemon.tokenFile, p.clientDb, [`code:${p.r}`]);
      try {
        await waitFor(() => /retrying/.test(stuck.stderr()), "the stuck client to report it cannot connect");
        writeFileSync(`${p.e}/a.txt`, "a v4, never reaching R\n");
        const res = await p.wait(["--timeout", "2"]);
        expect(res.code).toBe(7);
        expect(res.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^zync-client: the running client \(pid \d+\) has not applied E's changes up to \d+ within 2 s; is it connected to E\?/)]);
      } finally {
        await stuck.stop();
      }
    });
  });

  test("a root E has halted makes wait exit 6 with E's reason", async () => {
    await withPair(async (p) => {
      renameSync(`${p.e}/src`, `${p.outside}/away`);
      await waitFor(() => /halted/.test(p.daemon.stderr()), "the daemon to halt the root");
      const res = await p.wait();
      expect(res.code).toBe(6);
      expect(res.stderr).toMatch(/^zync-client: E has halted root code since \S+: 30 of its 30 files vanished/);
      // R keeps every file: the halt recorded nothing.
      expect(readdirSync(`${p.r}/src`)).toHaveLength(30);
    }, numberedFiles("src", 30));
  });
});

describe("zync-daemon wait: from E, until the clients have what E had", () => {
  const daemonWait = (p: Pair, extra: readonly string[] = []) => runBin(BIN.daemon, ["wait", "--db", p.daemon.db, ...extra]);

  test("a save on E immediately followed by zync-daemon wait is on R (live client) when the wait returns", async () => {
    await withPair(async (p) => {
      const live = startClient(p.daemon.url, p.daemon.tokenFile, p.clientDb, [`code:${p.r}`]);
      try {
        await waitFor(() => /connected to/.test(live.stdout() + live.stderr()), "the live client to connect");
        writeFileSync(`${p.e}/a.txt`, "a v5, then wait from E\n");
        const res = await daemonWait(p);
        expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
        expect(res.stdout).toMatch(/^1 client\(s\) in step with E through \d+$/m);
        expect(readFileSync(`${p.r}/a.txt`, "utf8")).toBe("a v5, then wait from E\n");
        expect(readdirSync(p.e).filter((n) => n.startsWith(".zync-cookie-"))).toEqual([]);
      } finally {
        await live.stop();
      }
    });
  });

  test("a named client that is not connected, or no client at all, is exit 4 with one sentence; no daemon running is exit 4 too", async () => {
    await withPair(async (p) => {
      const named = await daemonWait(p, ["--client", "nobody-here"]);
      expect(named.code).toBe(4);
      expect(named.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^zync-daemon: client nobody-here is not connected to the daemon/)]);
      const none = await daemonWait(p);
      expect(none.code).toBe(4);
      expect(none.stderr).toMatch(/^zync-daemon: no client is connected to the daemon; nothing to wait for$/m);
      await p.daemon.stop();
      const down = await daemonWait(p);
      expect(down.code).toBe(4);
      expect(down.stderr).toMatch(/^zync-daemon: no zync-daemon is running on /);
    });
  });
});

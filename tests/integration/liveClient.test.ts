import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { startClient, type TestDaemon } from "../helpers/bins.js";
import { freePort, startDaemonOnPort } from "../helpers/daemonProc.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** The content of a file, or undefined while it is absent. */
function contentOf(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

describe("live client", () => {
  test("a running client takes E's changes on the daemon's notice and reconnects by itself after a daemon restart", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    const state = tempDir("zync-daemon-");
    const db = `${state}/sync.db`;
    const tokenFile = `${state}/token`;
    writeFileSync(`${e}/hello.txt`, "hello\n");
    const port = await freePort();
    const dirs = [`code:${e}`];

    let daemon: TestDaemon | undefined = await startDaemonOnPort(port, dirs, { db, tokenFile });
    // An interval of an hour: only the daemon's live notice (or a reconnect) can explain a quick update.
    const client = startClient(daemon.url, tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--interval", "3600"]);
    const clientAlive = (): boolean => client.proc.exitCode === null && client.proc.signalCode === null;
    try {
      await waitFor(() => contentOf(`${r}/hello.txt`) === "hello\n", "the first sync of hello.txt");

      writeFileSync(`${e}/live.txt`, "written while the client runs\n");
      await waitFor(() => contentOf(`${r}/live.txt`) === "written while the client runs\n", "live.txt on R", 20_000);
      expect(clientAlive()).toBe(true);

      await daemon.stop();
      daemon = undefined;
      // The change is made while no daemon runs; the restarted daemon finds it when it scans at start.
      writeFileSync(`${e}/while-down.txt`, "written while the daemon was away\n");
      writeFileSync(`${e}/hello.txt`, "hello again\n");
      daemon = await startDaemonOnPort(port, dirs, { db, tokenFile });
      expect(daemon.port).toBe(port);

      await waitFor(
        () => contentOf(`${r}/while-down.txt`) === "written while the daemon was away\n" && contentOf(`${r}/hello.txt`) === "hello again\n",
        "the change made while the daemon was away, on R",
        20_000,
      );
      expect(clientAlive()).toBe(true);
      // The same process connected twice: once at start, once after the restart.
      expect(client.stdout().match(/connected to /g)?.length ?? 0).toBeGreaterThanOrEqual(2);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await client.stop();
      await daemon?.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, closeSync, constants, openSync, rmSync, writeFileSync } from "node:fs";
import { BIN, runBin, startTestDaemon, type Spawned } from "../helpers/bins.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** Opens the FIFO's writing end without waiting, so a reader blocked on it (a daemon before the fix) goes on. */
function releaseFifo(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // No reader, or gone: nothing is blocked on it.
  }
}

describe("special and unreadable files on E", () => {
  test("a file that became a FIFO is answered at once and never blocks the daemon; status lists it", async () => {
    const e = tempDir("zync-e-");
    writeFileSync(`${e}/pipe`, "a file for now\n");
    writeFileSync(`${e}/other.txt`, "other\n");
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--debounce", "400"] });
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile));
    try {
      await sock.hello();
      rmSync(`${e}/pipe`);
      execFileSync("mkfifo", [`${e}/pipe`]);
      // The log still lists it as a file: the request reaches the FIFO itself.
      const { reply } = await sock.exchange({ type: "GET_FILE", id: 1, root: "code", path: "pipe" });
      expect(reply).toMatchObject({ type: "ERROR", id: 1, code: "NOT_FOUND" });
      expect((await sock.exchange({ type: "PING", id: 2 })).reply).toEqual({ type: "PONG", id: 2 });
      const other = await sock.exchange({ type: "GET_FILE", id: 3, root: "code", path: "other.txt" });
      expect(await sock.nextText(other.from, (m) => m.id === 3 && m.type !== "ERROR")).toMatchObject({ type: "FILE_END", size: 6 });
      await waitFor(async () => /code\/pipe: it is a FIFO, socket or device/.test((await runBin(BIN.daemon, ["status", "--db", daemon.db])).stdout), "status to list the FIFO");
    } finally {
      releaseFifo(`${e}/pipe`);
      sock.ws.terminate();
      await daemon.stop();
    }
  });

  test("a recorded file this user may not read is answered UNREADABLE (not INTERNAL) and listed in status", async () => {
    if (process.getuid?.() !== 0) {
      console.warn("skipped: needs root, to run the daemon as nobody beside a file it may not read");
      return;
    }
    const state = tempDir("zync-state-");
    const e = tempDir("zync-e-");
    chmodSync(e, 0o755);
    chownSync(state, 65534, 65534);
    writeFileSync(`${e}/secret.txt`, "readable for now\n", { mode: 0o644 });
    writeFileSync(`${e}/open.txt`, "anyone\n", { mode: 0o644 });
    const db = `${state}/sync.db`;
    const proc = spawn(process.execPath, [BIN.daemon, "--port", "0", "--db", db, "--dirs", `code:${e}`], {
      uid: 65534,
      gid: 65534,
      env: { ...process.env, NO_COLOR: "1", ZYNC_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const daemon: Pick<Spawned, "exited"> = { exited: new Promise((resolve) => proc.on("close", (code, sig) => resolve(code ?? sig ?? -1))) };
    let sock: RawSocket | undefined;
    try {
      const url = (await waitFor(() => /listening on (ws:\/\/\S+)/.exec(out), `the daemon's listening line (${err})`))[1]!;
      sock = await RawSocket.open(url, readToken(`${db}.token`));
      await sock.hello();
      chmodSync(`${e}/secret.txt`, 0o600);
      const { reply } = await sock.exchange({ type: "GET_FILE", id: 1, root: "code", path: "secret.txt" });
      expect(reply).toMatchObject({ type: "ERROR", id: 1, code: "UNREADABLE" });
      expect(String(reply.message)).toContain("secret.txt");
      const other = await sock.exchange({ type: "GET_FILE", id: 2, root: "code", path: "open.txt" });
      expect(await sock.nextText(other.from, (m) => m.id === 2 && m.type !== "ERROR")).toMatchObject({ type: "FILE_END", size: 7 });
      await waitFor(async () => /code\/secret\.txt: its content cannot be read/.test((await runBin(BIN.daemon, ["status", "--db", db])).stdout), "status to list the unreadable file");
    } finally {
      sock?.ws.terminate();
      proc.kill("SIGTERM");
      await daemon.exited;
    }
  });
});

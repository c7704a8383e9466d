import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { startClient, startTestDaemon } from "../helpers/bins.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

describe("daemon shutdown", () => {
  test("SIGTERM with a live client and transfers in flight exits 0 and prints no failure", async () => {
    const e = tempDir("zync-e-");
    mkdirSync(`${e}/src`);
    for (let i = 0; i < 20; i++) writeFileSync(`${e}/src/f${i}.txt`, `file ${i}\n`.repeat(1000));
    writeFileSync(`${e}/big.bin`, Buffer.alloc(24 * 1024 * 1024, 7));
    const daemon = await startTestDaemon([`code:${e}`]);
    const r = `${tempDir("zync-r-")}/code`;
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
    const sockets: RawSocket[] = [];
    try {
      await waitFor(() => JSON.stringify(snapshotTree(r)) === JSON.stringify(snapshotTree(e)), "the live client to catch up", 60_000);
      // Connections that asked for the big file and read nothing: their transfers wait on backpressure.
      for (let i = 0; i < 3; i++) {
        const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile));
        sockets.push(sock);
        await sock.hello();
        sock.send({ type: "GET_FILE", id: 1, root: "code", path: "big.bin" });
        sock.send({ type: "GET_CHANGES", id: 2, since: 0 });
        sock.ws.pause();
      }
      // Changes keep arriving while the daemon stops.
      for (let i = 0; i < 20; i++) writeFileSync(`${e}/src/f${i}.txt`, `changed ${i}\n`);
      daemon.proc.kill("SIGTERM");
      const code = await daemon.exited;
      expect({ code, stderr: daemon.stderr() }).toEqual({ code: 0, stderr: "" });
    } finally {
      for (const s of sockets) s.ws.terminate();
      await client.stop();
      await daemon.stop();
    }
  });
});

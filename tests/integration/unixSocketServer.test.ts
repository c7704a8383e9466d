import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { BIN, runBin, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** What `ssh -R SOCKET:127.0.0.1:PORT` does on R: a Unix socket whose every connection is carried to the daemon's port. */
async function socketRelay(path: string, port: number): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: "127.0.0.1", port });
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

async function withRelay(body: (d: { e: string; daemon: TestDaemon; socket: string; home: string }) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  writeFileSync(`${e}/hello.txt`, "hello over a socket\n");
  mkdirSync(`${e}/src`);
  writeFileSync(`${e}/src/main.ts`, "export {};\n");
  const home = tempDir("zync-home-");
  mkdirSync(`${home}/.zync`, { mode: 0o700 });
  const socket = `${home}/.zync/zync.sock`;
  const daemon = await startTestDaemon([`code:${e}`]);
  const relay = await socketRelay(socket, daemon.port);
  try {
    await body({ e, daemon, socket, home });
  } finally {
    await new Promise((r) => relay.close(r));
    await daemon.stop();
  }
}

describe("zync-client --server unix:PATH", () => {
  test("a client syncs through a Unix socket with --server unix:PATH", async () => {
    await withRelay(async ({ e, daemon, socket }) => {
      const r = `${tempDir("zync-r-")}/code`;
      const res = await runBin(BIN.client, ["--once", "--server", `unix:${socket}`, "--token-file", daemon.tokenFile, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    });
  });

  test("without --server, the client uses ~/.zync/zync.sock when that socket exists, live included", async () => {
    await withRelay(async ({ e, daemon, home }) => {
      const r = `${tempDir("zync-r-")}/code`;
      const live = `${tempDir("zync-r-")}/code`;
      const client = startClient(`unix:${home}/.zync/zync.sock`, daemon.tokenFile, `${tempDir()}/live.db`, [`code:${live}`]);
      try {
        await waitFor(() => client.stdout().includes(`connected to unix:${home}/.zync/zync.sock`), "the live client to connect");
        writeFileSync(`${e}/later.txt`, "written while the live client listens\n");
        await waitFor(() => JSON.stringify(snapshotTree(live)) === JSON.stringify(snapshotTree(e)), "the live client to receive later.txt");
      } finally {
        await client.stop();
      }
      const db = `${tempDir()}/c.db`;
      const once = await runBin(BIN.client, ["--once", "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`, "--verbose"], { HOME: home });
      expect(once.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
      const status = await runBin(BIN.client, ["status", "--token-file", daemon.tokenFile, "--db", db], { HOME: home });
      expect(status.stdout).toContain(`daemon: unix:${home}/.zync/zync.sock reachable`);
    });
  });

  test("a raw socket authenticates over the Unix socket as over TCP", async () => {
    await withRelay(async ({ daemon, socket }) => {
      const sock = await RawSocket.open(`unix:${socket}`, readToken(daemon.tokenFile));
      try {
        expect(await sock.hello()).toMatchObject({ type: "WELCOME", roots: ["code"] });
      } finally {
        await sock.close();
      }
    });
  });
});

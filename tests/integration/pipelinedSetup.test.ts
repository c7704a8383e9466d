import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { handshakeProof, newNonce } from "@zync/node";
import { BIN, runBin, runClientOnce, startTestDaemon, writeToken } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

const TOKEN = "s3cret-token-0123456789";

describe("connection set-up is pipelined", () => {
  test("the first page is asked for before WELCOME, and the run finishes on its answer", async () => {
    // A daemon that knows the token and holds WELCOME back until it has seen a GET_CHANGES (or 2 s have passed).
    const seen: string[] = [];
    let pipelined = false;
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on("connection", (ws) => {
      let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
      let welcomed = false;
      const welcome = (): void => {
        if (welcomed || !t) return;
        welcomed = true;
        ws.send(JSON.stringify({ type: "WELCOME", version: 3, epoch: "e1", head: 0, horizon: 0, roots: ["code"], features: [], halted: [], proof: handshakeProof(TOKEN, "daemon", t) }));
      };
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { type: string; id?: number; nonce?: string; clientId?: string; seq?: number };
        seen.push(msg.type);
        if (msg.type === "HELLO") {
          t = { version: 3, clientNonce: msg.nonce!, daemonNonce: newNonce(), clientId: msg.clientId! };
          ws.send(JSON.stringify({ type: "CHALLENGE", version: 3, nonce: t.daemonNonce }));
        } else if (msg.type === "AUTH") {
          setTimeout(welcome, 2000);
        } else if (msg.type === "GET_CHANGES") {
          if (!welcomed) pipelined = true;
          welcome();
          ws.send(JSON.stringify({ type: "CHANGES", id: msg.id, changes: [], next: 0, head: 0, more: false }));
        } else if (msg.type === "ACK_CHANGES") {
          ws.send(JSON.stringify({ type: "ACKED", id: msg.id, seq: msg.seq }));
        }
      });
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const addr = http.address();
    const url = `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    try {
      const res = await runBin(BIN.client, ["--once", "--server", url, "--token-file", writeToken(`${tempDir()}/token`, TOKEN), "--db", `${tempDir()}/c.db`, "--dirs", `code:${tempDir()}`]);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(pipelined).toBe(true);
      // The pipelined page was the one the pass needed: it was not asked for a second time.
      expect(seen).toEqual(["HELLO", "AUTH", "GET_CHANGES", "ACK_CHANGES"]);
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => http.close(r));
    }
  });

  test("a pipelined page the pass does not want (a new daemon database) is dropped, and R still ends up as E", async () => {
    const e = tempDir();
    writeFileSync(`${e}/a.txt`, "one\n");
    const r = `${tempDir()}/r`;
    const db = `${tempDir()}/c.db`;
    const tokenFile = writeToken(`${tempDir()}/token`, TOKEN);
    const first = await startTestDaemon([`code:${e}`], { tokenFile });
    try {
      expect((await runClientOnce(first, db, [`code:${r}`])).code).toBe(0);
    } finally {
      await first.stop();
    }
    writeFileSync(`${e}/a.txt`, "two\n");
    writeFileSync(`${e}/b.txt`, "new\n");
    // The client's cursor belongs to the first database; the page it pipelines from there is not the one it needs.
    const second = await startTestDaemon([`code:${e}`], { tokenFile });
    try {
      const res = await runClientOnce(second, db, [`code:${r}`]);
      expect(res.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await second.stop();
    }
  });

  test("thousands of small files and a few large ones, fetched many at a time, all arrive intact", async () => {
    const e = tempDir();
    for (let i = 0; i < 3000; i++) {
      mkdirSync(`${e}/d${i % 30}`, { recursive: true });
      writeFileSync(`${e}/d${i % 30}/f${i}.txt`, `file ${i}\n`.repeat(1 + (i % 50)));
    }
    for (let i = 0; i < 3; i++) writeFileSync(`${e}/big${i}.bin`, Buffer.alloc(3 * 1024 * 1024 + i, i + 1));
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const r = `${tempDir()}/r`;
      const res = await runClientOnce(daemon, `${tempDir()}/c.db`, [`code:${r}`], ["--no-progress"]);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { handshakeProof, hashBytes, newNonce } from "@zync/node";
import { BIN, runBin, writeToken } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

const TOKEN = "lying-daemon-token-0123456789";
const FIVE = "line1\nline2\nline3\nline4\nline5\n";

/** A file state as the wire carries it. */
async function fileState(content: string): Promise<Record<string, unknown>> {
  return { kind: "file", hash: await hashBytes(Buffer.from(content)), size: Buffer.byteLength(content), mode: 0o644, mtimeMs: 1_700_000_000_000 };
}

/** One binary data frame (kind 1) of request `id`. */
function dataFrame(id: number, bytes: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(1, 0);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, bytes]);
}

/**
 * A daemon that knows the token and agrees feature `versions`, serving one file, `five.txt`, whose content is
 * `e.content` at sequence `e.seq`; its answer to GET_VERSION is `versionBytes` with a FILE_END claiming the
 * requested hash (a lie when those bytes are other content).
 */
async function lyingDaemon(e: { seq: number; content: string }, versionBytes: Buffer): Promise<{ url: string; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws: WebSocket) => {
    let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
    ws.on("message", (data: Buffer) => {
      void (async () => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        asked.push(String(msg.type));
        const send = (m: object): void => ws.send(JSON.stringify(m));
        const state = await fileState(e.content);
        switch (msg.type) {
          case "HELLO":
            t = { version: 4, clientNonce: msg.nonce as string, daemonNonce: newNonce(), clientId: msg.clientId as string };
            return send({ type: "CHALLENGE", version: 4, nonce: t.daemonNonce });
          case "AUTH":
            return send({ type: "WELCOME", version: 4, epoch: "lying", head: e.seq, horizon: 0, roots: ["code"], features: ["versions"], halted: [], proof: handshakeProof(TOKEN, "daemon", t!) });
          case "GET_CHANGES":
            return send({ type: "CHANGES", id: msg.id, changes: (msg.since as number) < e.seq ? [{ seq: e.seq, root: "code", path: "five.txt", state }] : [], next: e.seq, head: e.seq, more: false });
          case "GET_FILE":
            ws.send(dataFrame(msg.id as number, Buffer.from(e.content)));
            return send({ type: "FILE_END", id: msg.id, size: state.size, hash: state.hash, mode: 0o644, mtimeMs: 1_700_000_000_000 });
          case "GET_VERSION":
            ws.send(dataFrame(msg.id as number, versionBytes));
            return send({ type: "FILE_END", id: msg.id, size: versionBytes.length, hash: msg.hash, mode: 0o644, mtimeMs: 1_700_000_000_000 });
          case "ACK_CHANGES":
            return send({ type: "ACKED", id: msg.id, seq: msg.seq });
          default:
            return send({ type: "ERROR", id: msg.id, code: "BAD_MESSAGE", message: "not in this test" });
        }
      })();
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const addr = http.address();
  return {
    url: `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    asked,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => r(undefined));
      }),
  };
}

describe("zync-client --merge against a daemon that lies about a stored version", () => {
  test("a base whose bytes do not match the hash asked for is never used: the path stays a conflict, with the reason, and the pass goes on", async () => {
    const r = tempDir();
    const db = `${tempDir()}/c.db`;
    const token = writeToken(`${tempDir()}/token`, TOKEN);
    const run = (url: string) => runBin(BIN.client, ["--once", "--merge", "--json", "--server", url, "--token-file", token, "--db", db, "--dirs", `code:${r}`]);

    // The first sync gives R five.txt as its base.
    const first = await lyingDaemon({ seq: 1, content: FIVE }, Buffer.alloc(0));
    try {
      expect((await run(first.url)).code).toBe(0);
    } finally {
      await first.close();
    }
    expect(readFileSync(`${r}/five.txt`, "utf8")).toBe(FIVE);

    // R edits line 5, E line 1; the daemon sends as the base a version that would merge cleanly but is not it.
    writeFileSync(`${r}/five.txt`, FIVE.replace("line5", "line5 R"));
    const forged = Buffer.from(FIVE.replace("line3", "forged"));
    const second = await lyingDaemon({ seq: 2, content: FIVE.replace("line1", "line1 E") }, forged);
    try {
      const res = await run(second.url);
      expect(second.asked).toContain("GET_VERSION");
      expect(res.code).toBe(3);
      expect(JSON.parse(res.stdout)).toMatchObject({ merged: [], conflicts: ["code/five.txt"], notMerged: [{ path: "code/five.txt", reason: expect.stringMatching(/arrived damaged/) }] });
      expect(res.stderr).not.toContain("    at ");
    } finally {
      await second.close();
    }
    expect(readFileSync(`${r}/five.txt`, "utf8")).toBe(FIVE.replace("line5", "line5 R"));
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { MAX_FRAME_BYTES } from "@zync/protocol";
import { handshakeProof, newNonce } from "@zync/node";
import { BIN, runBin, runClientOnce, startTestDaemon, writeToken } from "../helpers/bins.js";
import { startCountingProxy } from "../helpers/countingProxy.js";
import { seededRandom } from "../helpers/seededRandom.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const WORDS = ["const", "return", "function", "import", "export", "value", "index", "result", "config", "await", "async", "class"];

/** A tree of source-like text (compresses well) with a random blob and a "photo" (neither compresses). */
function writeTree(e: string): { text: number; raw: number } {
  const rand = seededRandom(7);
  let text = 0;
  for (let i = 0; i < 300; i++) {
    const lines: string[] = [];
    for (let n = 0; n < 120; n++) lines.push(Array.from({ length: 6 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ") + ";");
    const body = `${lines.join("\n")}\n`;
    mkdirSync(`${e}/src/d${i % 10}`, { recursive: true });
    writeFileSync(`${e}/src/d${i % 10}/file_${i}.ts`, body);
    text += Buffer.byteLength(body);
  }
  const noise = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  writeFileSync(`${e}/blob.bin`, noise(512 * 1024));
  writeFileSync(`${e}/photo.jpg`, noise(64 * 1024));
  return { text, raw: text + 512 * 1024 + 64 * 1024 };
}

/** Syncs a fresh copy of `e` through a counting proxy; returns the bytes that crossed it and R's tree. */
async function syncThroughProxy(e: string, daemonArgs: string[], clientArgs: string[]) {
  const daemon = await startTestDaemon([`code:${e}`], { args: daemonArgs });
  const proxy = await startCountingProxy(daemon.port);
  const r = `${tempDir()}/r`;
  try {
    const res = await runBin(BIN.client, ["--once", "--server", proxy.url, "--token-file", daemon.tokenFile, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`, "--no-progress", ...clientArgs]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    return { ...proxy.counts(), r };
  } finally {
    await proxy.close();
    await daemon.stop();
  }
}

describe("feature compress", () => {
  test("with compression on, text arrives compressed, incompressible data raw, and every file intact", async () => {
    const e = tempDir();
    const { text, raw } = writeTree(e);
    const got = await syncThroughProxy(e, ["--compress", "always"], []);
    expect(snapshotTree(got.r)).toEqual(snapshotTree(e));
    // The blob and the photo travel raw; the text shrinks to well under half.
    expect(got.down).toBeLessThan(raw - text + text * 0.5);
  });

  test("a client that does not offer it gets raw frames, as before", async () => {
    const e = tempDir();
    const { raw } = writeTree(e);
    const got = await syncThroughProxy(e, ["--compress", "always"], ["--compress", "never"]);
    expect(snapshotTree(got.r)).toEqual(snapshotTree(e));
    expect(got.down).toBeGreaterThan(raw);
  });

  test("a daemon that does not support it sends raw frames, as before", async () => {
    const e = tempDir();
    const { raw } = writeTree(e);
    const got = await syncThroughProxy(e, ["--compress", "never"], ["--compress", "always"]);
    expect(snapshotTree(got.r)).toEqual(snapshotTree(e));
    expect(got.down).toBeGreaterThan(raw);
  });

  test("uploads from R are compressed too and land intact in the session", async () => {
    const e = tempDir();
    writeFileSync(`${e}/seed.txt`, "seed\n");
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--compress", "always"] });
    const proxy = await startCountingProxy(daemon.port);
    const r = `${tempDir()}/r`;
    const db = `${tempDir()}/c.db`;
    const client = (extra: string[]) =>
      runBin(BIN.client, ["--server", proxy.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`, "--compress", "always", ...extra]);
    try {
      expect((await client(["--once"])).code).toBe(0);
      const body = `${Array.from({ length: 4000 }, (_, i) => `const line${i % 7} = await result(index);`).join("\n")}\n`;
      writeFileSync(`${r}/big.ts`, body);
      const before = proxy.counts().up;
      const res = await client(["--update-upstream"]);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(proxy.counts().up - before).toBeLessThan(Buffer.byteLength(body) / 2);
    } finally {
      await proxy.close();
      await daemon.stop();
    }
  });
});

describe("a frame that inflates past the limit is a protocol error, never an exhausted memory", () => {
  const TOKEN = "s3cret-token-0123456789";

  test("a daemon that sends one gets a one-sentence refusal from the client", async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: true });
    wss.on("connection", (ws) => {
      let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as Record<string, unknown>;
        if (msg.type === "HELLO") {
          t = { version: 3, clientNonce: msg.nonce as string, daemonNonce: newNonce(), clientId: msg.clientId as string };
          ws.send(JSON.stringify({ type: "CHALLENGE", version: 3, nonce: t.daemonNonce }));
        } else if (msg.type === "AUTH" && t) {
          const welcome = { type: "WELCOME", version: 3, epoch: "fake", head: 1, horizon: 0, roots: ["code"], features: ["compress"], halted: [], proof: handshakeProof(TOKEN, "daemon", t) };
          ws.send(JSON.stringify(welcome));
          // A few kilobytes on the wire that inflate to more than a frame may hold.
          ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1024 * 1024), { binary: true, compress: true });
        }
      });
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const addr = http.address();
    const url = `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    const r = tempDir();
    try {
      const res = await runBin(BIN.client, ["--once", "--server", url, "--token-file", writeToken(`${tempDir()}/token`, TOKEN), "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`sent a frame larger than ${MAX_FRAME_BYTES} bytes \\(once inflated\\)`));
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => http.close(r));
    }
  });

  test("a client that sends one is disconnected with 1009, and the daemon serves others on", async () => {
    const e = tempDir();
    writeFileSync(`${e}/a.txt`, "hello\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const token = readFileSync(daemon.tokenFile, "utf8").trim();
      const ws = new WebSocket(daemon.url, { perMessageDeflate: true });
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      ws.on("error", () => undefined);
      const clientNonce = newNonce();
      const clientId = "bomb";
      ws.on("open", () => ws.send(JSON.stringify({ type: "HELLO", versions: [3], clientId, nonce: clientNonce, features: ["compress"] })));
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as Record<string, unknown>;
        if (msg.type === "CHALLENGE") {
          ws.send(JSON.stringify({ type: "AUTH", proof: handshakeProof(token, "client", { version: 3, clientNonce, daemonNonce: msg.nonce as string, clientId }) }));
        } else if (msg.type === "WELCOME") {
          expect(msg.features).toEqual(["compress"]);
          ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1024 * 1024), { binary: true, compress: true });
        }
      });
      expect(await closed).toBe(1009);
      await waitFor(() => daemon.stderr().includes(`sent a frame larger than ${MAX_FRAME_BYTES} bytes (once inflated)`), "the daemon's warning");
      const r = `${tempDir()}/r`;
      const res = await runClientOnce(daemon, `${tempDir()}/c.db`, [`code:${r}`]);
      expect(res.code).toBe(0);
      expect(readFileSync(`${r}/a.txt`, "utf8")).toBe("hello\n");
    } finally {
      await daemon.stop();
    }
  });
});

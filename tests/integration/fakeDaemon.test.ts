import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { handshakeProof, newNonce } from "@zync/node";
import { BIN, runBin, writeToken } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

const TOKEN = "s3cret-token-0123456789";

/** What a stranger listening where the daemon should be saw: every raw byte, and every message once unmasked. */
type Capture = { raw: Buffer[]; messages: string[] };

/**
 * Something else listening on R's forwarded port or socket (the tunnel being down): it accepts anyone and answers
 * each message with `answer`. It listens on a TCP port, or on a Unix socket when `socket` is given.
 */
async function stranger(
  answer: (msg: Record<string, unknown>, ws: WebSocket) => object | undefined,
  socket?: string,
): Promise<{ url: string; capture: Capture; close(): Promise<void> }> {
  const capture: Capture = { raw: [], messages: [] };
  const http = createServer();
  http.on("connection", (sock) => sock.on("data", (d: Buffer) => capture.raw.push(Buffer.from(d))));
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const text = (data as Buffer).toString();
      capture.messages.push(text);
      const reply = answer(JSON.parse(text) as Record<string, unknown>, ws);
      if (reply) ws.send(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => (socket === undefined ? http.listen(0, "127.0.0.1", r) : http.listen(socket, r)));
  const addr = http.address();
  const url = socket !== undefined ? `unix:${socket}` : `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return {
    url,
    capture,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => r(undefined));
      }),
  };
}

const welcome = { type: "WELCOME", version: 3, epoch: "fake", head: 1, horizon: 0, roots: ["code"], features: [], halted: [] };

/** A stranger that plays the whole handshake faithfully, but with a token of its own. */
function playsWithToken(token: string): (msg: Record<string, unknown>) => object | undefined {
  let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
  return (msg) => {
    if (msg.type === "HELLO") {
      t = { version: 3, clientNonce: msg.nonce as string, daemonNonce: newNonce(), clientId: msg.clientId as string };
      return { type: "CHALLENGE", version: 3, nonce: t.daemonNonce };
    }
    if (msg.type === "AUTH" && t) return { ...welcome, proof: handshakeProof(token, "daemon", t) };
    return undefined;
  };
}

const runClient = (url: string, r: string) =>
  runBin(BIN.client, ["--once", "--server", url, "--token-file", writeToken(`${tempDir()}/token`, TOKEN), "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);

describe("a client only trusts a daemon that proves it knows the token", () => {
  test("a server that answers HELLO with WELCOME at once (no challenge) is refused before anything is written", async () => {
    const fake = await stranger((msg) => (msg.type === "HELLO" ? { ...welcome, proof: "0".repeat(64) } : undefined));
    const r = tempDir();
    writeFileSync(`${r}/mine.txt`, "R's file\n");
    try {
      const res = await runClient(fake.url, r);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/could not prove it knows the token: it is not your zync daemon/);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(`${r}/mine.txt`, "utf8")).toBe("R's file\n");
      expect(fake.capture.messages.map((m) => (JSON.parse(m) as { type: string }).type)).toEqual(["HELLO"]);
    } finally {
      await fake.close();
    }
  });

  test("a stranger that plays the handshake with another token is refused: its proof is wrong", async () => {
    const fake = await stranger(playsWithToken("some-other-token"));
    const r = tempDir();
    try {
      const res = await runClient(fake.url, r);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/could not prove it knows the token: it is not your zync daemon \(its proof is wrong; is the tunnel up\?\)/);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(`${r}/code`)).toBe(false);
      // After AUTH the client sent only the first page request it pipelines behind AUTH (a root name and a cursor,
      // no secret): no file was asked for, and no answer was used, before WELCOME's proof was checked.
      expect(fake.capture.messages.map((m) => (JSON.parse(m) as { type: string }).type)).toEqual(["HELLO", "AUTH", "GET_CHANGES"]);
      expect(JSON.parse(fake.capture.messages[2]!)).toEqual({ type: "GET_CHANGES", id: 1, since: 0, root: "code", limit: 5000 });
    } finally {
      await fake.close();
    }
  });

  test("a daemon that chooses a feature the client never offered is refused before anything is written", async () => {
    const plays = playsWithToken(TOKEN);
    const fake = await stranger((msg) => {
      const answer = plays(msg) as Record<string, unknown> | undefined;
      return answer?.type === "WELCOME" ? { ...answer, features: ["teleport"] } : answer;
    });
    const r = tempDir();
    try {
      const res = await runClient(fake.url, r);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/chose the feature "teleport", which this client never offered/);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(`${r}/code`)).toBe(false);
    } finally {
      await fake.close();
    }
  });

  test("a daemon that chooses the version-4 feature git on a version-3 connection is refused before anything is written", async () => {
    const plays = playsWithToken(TOKEN);
    const fake = await stranger((msg) => {
      const answer = plays(msg) as Record<string, unknown> | undefined;
      return answer?.type === "WELCOME" ? { ...answer, features: ["git"] } : answer;
    });
    const r = tempDir();
    try {
      const res = await runClient(fake.url, r);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/chose the feature "git" on a protocol-3 connection, which cannot carry it/);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(`${r}/code`)).toBe(false);
      expect(fake.capture.messages.map((m) => (JSON.parse(m) as { type: string }).type).filter((t) => t !== "GET_CHANGES")).toEqual(["HELLO", "AUTH"]);
    } finally {
      await fake.close();
    }
  });

  test("a stranger that sends the client's own proof back as its own is refused", async () => {
    let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
    const fake = await stranger((msg) => {
      if (msg.type === "HELLO") {
        t = { version: 3, clientNonce: msg.nonce as string, daemonNonce: newNonce(), clientId: msg.clientId as string };
        return { type: "CHALLENGE", version: 3, nonce: t.daemonNonce };
      }
      return msg.type === "AUTH" ? { ...welcome, proof: msg.proof } : undefined;
    });
    try {
      const res = await runClient(fake.url, tempDir());
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/its proof is wrong/);
    } finally {
      await fake.close();
    }
  });

  test.each(["a TCP port", "a Unix socket"])("the token never appears in any byte the client sends to a stranger on %s", async (where) => {
    const socket = where === "a Unix socket" ? `${tempDir("zync-sock-")}/zync.sock` : undefined;
    const fake = await stranger(playsWithToken(TOKEN + "-not"), socket);
    try {
      const res = await runClient(fake.url, tempDir());
      expect(res.code).toBe(1);
      const raw = Buffer.concat(fake.capture.raw);
      const upgrade = raw.subarray(0, raw.indexOf("\r\n\r\n")).toString("latin1");
      expect(upgrade).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
      expect(upgrade).not.toMatch(/^authorization:/im);
      // The page request pipelined behind AUTH is among the frames checked below.
      expect(fake.capture.messages.map((m) => (JSON.parse(m) as { type: string }).type)).toEqual(["HELLO", "AUTH", "GET_CHANGES"]);
      // Raw bytes (the upgrade request) and unmasked frames alike, in the forms a token could be written in.
      const seen = Buffer.concat([raw, ...fake.capture.messages.map((m) => Buffer.from(m))]);
      for (const form of [TOKEN, Buffer.from(TOKEN).toString("hex"), Buffer.from(TOKEN).toString("base64")]) {
        expect(seen.includes(form)).toBe(false);
      }
    } finally {
      await fake.close();
    }
  });
});

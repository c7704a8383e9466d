import { afterAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { BIN, runBin, runClientOnce, startTestDaemon, writeToken, type TestDaemon } from "../helpers/bins.js";
import WebSocket from "ws";
import { handshakeProof, newNonce } from "@zync/node";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { waitFor } from "../helpers/waitFor.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

const SECRET = "TOP SECRET, outside every root\n";

/**
 * A root with a real file, a large file, symlinks that point outside it (to /etc and to a secret file in another
 * folder) and an ignored .git folder; the daemon is started on it and stopped whatever `body` does.
 */
async function withDaemon(body: (d: { e: string; daemon: TestDaemon; token: string; big: Buffer }) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  const outside = tempDir("zync-outside-");
  writeFileSync(`${outside}/secret.txt`, SECRET);
  writeFileSync(`${e}/hello.txt`, "hello\n");
  const big = randomBytes(2 * 1024 * 1024 + 12_345);
  writeFileSync(`${e}/big.bin`, big);
  symlinkSync("/etc", `${e}/link`);
  symlinkSync(`${outside}/secret.txt`, `${e}/secret-link`);
  symlinkSync(outside, `${e}/outside`);
  mkdirSync(`${e}/.git`);
  writeFileSync(`${e}/.git/config`, "[core]\n\tsecret = yes\n");
  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    await body({ e, daemon, token: readToken(daemon.tokenFile), big });
  } finally {
    await daemon.stop();
  }
}

/** One valid handshake, made by hand so that what was sent can be replayed: HELLO, the daemon's nonce, AUTH. */
async function recordHandshake(url: string, token: string): Promise<{ hello: object; daemonNonce: string; auth: object }> {
  const sock = await RawSocket.open(url, undefined);
  try {
    const hello = { type: "HELLO", versions: [3], clientId: "victim", nonce: newNonce() };
    const { reply } = await sock.exchange(hello);
    const daemonNonce = reply.nonce as string;
    const auth = { type: "AUTH", proof: handshakeProof(token, "client", { version: 3, clientNonce: hello.nonce, daemonNonce, clientId: "victim" }) };
    const { reply: welcome } = await sock.exchange(auth);
    if (welcome.type !== "WELCOME") throw new Error(`the recorded handshake failed: ${JSON.stringify(welcome)}`);
    return { hello, daemonNonce, auth };
  } finally {
    await sock.close();
  }
}

describe("token checks by the client", () => {
  test("a wrong token makes the client exit 5 with a sentence about the token", async () => {
    await withDaemon(async ({ daemon }) => {
      const wrong = writeToken(`${tempDir()}/wrong.token`, "not-the-daemons-token");
      const r = `${tempDir()}/code`;
      const res = await runBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", wrong, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);
      expect(res.code).toBe(5);
      expect(res.stderr).toMatch(/token/);
      expect(res.stderr).not.toContain("    at ");
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
    });
  });

  test("no token at all (no ZYNC_TOKEN, no --token-file) is a usage error, exit 2", async () => {
    await withDaemon(async ({ daemon }) => {
      const r = `${tempDir()}/code`;
      const res = await runBin(BIN.client, ["--once", "--server", daemon.url, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/token/);
      expect(res.stderr).not.toContain("    at ");
    });
  });
});

describe("the daemon's WebSocket", () => {
  test("HELLO is answered with a CHALLENGE that holds nothing but the version and a nonce", async () => {
    await withDaemon(async ({ daemon }) => {
      const sock = await RawSocket.open(daemon.url, undefined);
      try {
        const { reply } = await sock.exchange({ type: "HELLO", versions: [3], clientId: "t", nonce: "ab".repeat(32) });
        expect(Object.keys(reply).sort()).toEqual(["nonce", "type", "version"]);
        expect(reply).toMatchObject({ type: "CHALLENGE", version: 3, nonce: expect.stringMatching(/^[0-9a-f]{64}$/) });
      } finally {
        await sock.close();
      }
    });
  });

  test("with a proof made from the right token, AUTH is answered with WELCOME carrying the daemon's proof", async () => {
    await withDaemon(async ({ daemon, token }) => {
      const sock = await RawSocket.open(daemon.url, token);
      try {
        const welcome = await sock.hello();
        expect(welcome).toMatchObject({ type: "WELCOME", version: 3, roots: ["code"], proof: expect.stringMatching(/^[0-9a-f]{64}$/) });
      } finally {
        await sock.close();
      }
    });
  });

  test("a proof made from a wrong token gets one ERROR UNAUTHORIZED and a close, and no root names", async () => {
    await withDaemon(async ({ daemon }) => {
      const sock = await RawSocket.open(daemon.url, undefined);
      await expect(sock.authenticate("not-the-daemons-token")).rejects.toThrow(/AUTH was answered with .*UNAUTHORIZED.*wrong token/);
      await waitFor(() => sock.closed !== undefined, "the daemon to close the connection");
      expect(sock.closed).toEqual({ code: 1008, reason: "wrong token" });
      expect(sock.frames.map((f) => (f.binary ? "[binary]" : f.json?.type))).toEqual(["CHALLENGE", "ERROR"]);
      // The root's name ("code") is in no frame: not as a value, nor under "roots".
      expect(sock.frames.some((f) => !f.binary && (f.text.includes('"roots"') || f.text.includes(':"code"')))).toBe(false);
      await waitFor(() => daemon.stderr().includes("refused a connection: its proof of the token was wrong"), "the daemon to log the refusal");
    });
  });

  test("an AUTH recorded on one connection is refused when replayed on another", async () => {
    await withDaemon(async ({ daemon, token }) => {
      const recorded = await recordHandshake(daemon.url, token);
      const replay = await RawSocket.open(daemon.url, undefined);
      try {
        const challenge = await replay.exchange(recorded.hello);
        expect(challenge.reply.type).toBe("CHALLENGE");
        expect(challenge.reply.nonce).not.toBe(recorded.daemonNonce);
        const { reply } = await replay.exchange(recorded.auth);
        expect(reply).toMatchObject({ type: "ERROR", code: "UNAUTHORIZED" });
        await waitFor(() => replay.closed !== undefined, "the daemon to close the replayed connection");
        expect(replay.frames.some((f) => !f.binary && f.json?.type === "WELCOME")).toBe(false);
      } finally {
        await replay.close();
      }
    });
  });

  test("a protocol-1 client, Bearer token in its upgrade, gets VERSION_MISMATCH saying why and nothing else", async () => {
    await withDaemon(async ({ daemon, token }) => {
      const ws = new WebSocket(daemon.url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
      const frames: string[] = [];
      ws.on("message", (d: Buffer) => frames.push(d.toString()));
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      await new Promise((r) => ws.once("open", r));
      ws.send(JSON.stringify({ type: "HELLO", versions: [1], clientId: "old", nonce: "ab".repeat(16) }));
      expect(await closed).toBe(1002);
      expect(frames).toHaveLength(1);
      expect(JSON.parse(frames[0]!)).toMatchObject({ type: "ERROR", code: "VERSION_MISMATCH", message: expect.stringMatching(/version 1 sent the token in clear/) });
    });
  });

  test("a request before the handshake, or after HELLO without AUTH, gets ERROR NOT_READY and no data", async () => {
    await withDaemon(async ({ daemon }) => {
      const sock = await RawSocket.open(daemon.url, undefined);
      try {
        const { reply } = await sock.exchange({ type: "GET_CHANGES", id: 7, since: 0 });
        expect(reply).toMatchObject({ type: "ERROR", id: 7, code: "NOT_READY" });
        const file = await sock.exchange({ type: "GET_FILE", id: 8, root: "code", path: "hello.txt" });
        expect(file.reply).toMatchObject({ type: "ERROR", id: 8, code: "NOT_READY" });
        const challenge = await sock.exchange({ type: "HELLO", versions: [3], clientId: "t", nonce: "cd".repeat(32) });
        expect(challenge.reply.type).toBe("CHALLENGE");
        const after = await sock.exchange({ type: "GET_FILE", id: 9, root: "code", path: "hello.txt" });
        expect(after.reply).toMatchObject({ type: "ERROR", id: 9, code: "NOT_READY" });
        const offer = { type: "PREPARE_UPSTREAM", id: 10, root: "code", key: "0".repeat(16), changes: [{ path: "x", base: null, state: { kind: "deleted" } }] };
        expect((await sock.exchange(offer)).reply).toMatchObject({ type: "ERROR", id: 10, code: "NOT_READY" });
        expect(sock.binariesFrom(0)).toEqual([]);
        expect(sock.isOpen).toBe(true);
      } finally {
        await sock.close();
      }
    });
  });

  test("HELLO with no common protocol version gets ERROR VERSION_MISMATCH", async () => {
    await withDaemon(async ({ daemon }) => {
      const sock = await RawSocket.open(daemon.url, undefined);
      try {
        const { reply } = await sock.exchange({ type: "HELLO", versions: [99], clientId: "t" });
        expect(reply).toMatchObject({ type: "ERROR", code: "VERSION_MISMATCH" });
      } finally {
        await sock.close();
      }
    });
  });

  test("hostile messages each get an ERROR, leak nothing, and leave the connection and the daemon up", async () => {
    await withDaemon(async ({ e, daemon, token }) => {
      const getFile = (id: number, path: string, root = "code"): Record<string, unknown> => ({ type: "GET_FILE", id, root, path });
      const badPath = expect.stringMatching(/^(BAD_MESSAGE|BAD_PATH)$/);
      const notServed = expect.stringMatching(/^(NOT_FOUND|BAD_PATH)$/);
      const cases: { name: string; msg: unknown; code: unknown }[] = [
        { name: "not JSON", msg: "this is {not json", code: "BAD_MESSAGE" },
        { name: "JSON that is not an object", msg: "[1,2,3]", code: "BAD_MESSAGE" },
        { name: "unknown type", msg: { type: "RM_RF", id: 1 }, code: "BAD_MESSAGE" },
        { name: "path climbing out", msg: getFile(2, "../etc/passwd"), code: badPath },
        { name: "absolute path", msg: getFile(3, "/etc/passwd"), code: badPath },
        { name: "path climbing out from below", msg: getFile(4, "a/../../x"), code: badPath },
        { name: "backslash path", msg: getFile(5, "a\\b"), code: badPath },
        { name: "path through a symlink to /etc", msg: getFile(6, "link/passwd"), code: notServed },
        { name: "path through a symlink to another folder", msg: getFile(7, "outside/secret.txt"), code: notServed },
        { name: "the symlink to /etc itself", msg: getFile(8, "link"), code: notServed },
        { name: "a symlink to a file outside the root", msg: getFile(9, "secret-link"), code: notServed },
        { name: "an ignored path", msg: getFile(10, ".git/config"), code: notServed },
        { name: "a path that does not exist", msg: getFile(11, "nope.txt"), code: "NOT_FOUND" },
        { name: "an unknown root", msg: getFile(12, "hello.txt", "elsewhere"), code: "UNKNOWN_ROOT" },
        { name: "GET_CHANGES of an unknown root", msg: { type: "GET_CHANGES", id: 13, since: 0, root: "elsewhere" }, code: "UNKNOWN_ROOT" },
      ];
      const sock = await RawSocket.open(daemon.url, token);
      try {
        await sock.hello();
        const seen = [];
        for (const c of cases) {
          const { reply, from } = await sock.exchange(c.msg);
          seen.push({ name: c.name, type: reply.type, code: reply.code, dataFrames: sock.binariesFrom(from).length, open: sock.isOpen });
        }
        expect(seen).toEqual(cases.map((c) => ({ name: c.name, type: "ERROR", code: c.code, dataFrames: 0, open: true })));
        // Nothing from outside the root ever crossed the wire, in any frame.
        const everything = Buffer.concat(sock.frames.map((f) => (f.binary ? f.data : Buffer.from(f.text))));
        expect(everything.includes(SECRET)).toBe(false);
        expect(everything.includes(readFileSync("/etc/passwd"))).toBe(false);

        // The same connection still works.
        const { reply } = await sock.exchange({ type: "PING", id: 100 });
        expect(reply).toEqual({ type: "PONG", id: 100 });
      } finally {
        await sock.close();
      }
      // And so does the daemon, for a real client.
      expect(daemon.proc.exitCode).toBeNull();
      const r = `${tempDir()}/code`;
      const run = await runClientOnce(daemon, `${tempDir()}/c.db`, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r, (p) => p === ".git")).toEqual(snapshotTree(e, (p) => p === ".git"));
    });
  });

  test("a GET_FILE for a real file streams binary frames (kind 1, request id) then a FILE_END whose size matches", async () => {
    await withDaemon(async ({ daemon, token, big }) => {
      const sock = await RawSocket.open(daemon.url, token);
      try {
        await sock.hello();
        const id = 0x01020304;
        const from = sock.frames.length;
        sock.send({ type: "GET_FILE", id, root: "code", path: "big.bin" });
        const end = await sock.nextText(from, (m) => m.id === id, "FILE_END for big.bin");
        expect(end).toMatchObject({ type: "FILE_END", id, size: big.length });
        const frames = sock.binariesFrom(from);
        expect(frames.length).toBeGreaterThan(1);
        for (const f of frames) {
          expect(f.length).toBeGreaterThan(5);
          expect(f.readUInt8(0)).toBe(1);
          expect(f.readUInt32BE(1)).toBe(id);
        }
        const data = Buffer.concat(frames.map((f) => f.subarray(5)));
        expect(data.length).toBe(big.length);
        expect(data.equals(big)).toBe(true);
        // FILE_END came after every data frame.
        const lastData = sock.frames.map((f, i) => (f.binary ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
        const endIndex = sock.frames.findIndex((f) => !f.binary && f.json?.id === id);
        expect(endIndex).toBeGreaterThan(lastData);
      } finally {
        await sock.close();
      }
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { BaseChangedError, DaemonConnection, fetchDelta } from "@zync/client";
import { handshakeProof, hashBytes, hashFile, newNonce } from "@zync/node";
import { BIN, runBin, startTestDaemon, writeToken, type TestDaemon } from "../helpers/bins.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { writePatternFile } from "../helpers/bigFile.js";
import { pullUntilInStep } from "../helpers/pull.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

type Served = { bytes: number; endedAt?: number };

/** Bytes the daemon sent as file content over every connection it has closed, from its own log. */
async function bytesServed(daemon: TestDaemon): Promise<{ connections: number; bytes: number }> {
  const res = await runBin(BIN.daemon, ["log", "--db", daemon.db, "--json"]);
  const served = (JSON.parse(res.stdout) as Served[]).filter((s) => s.endedAt !== undefined && s.endedAt !== null);
  return { connections: served.length, bytes: served.reduce((n, s) => n + s.bytes, 0) };
}

/** Waits until the daemon has logged the end of `connections` connections, and returns the bytes it sent. */
async function settledBytes(daemon: TestDaemon, connections: number): Promise<number> {
  const served = await waitFor(async () => {
    const s = await bytesServed(daemon);
    return s.connections >= connections ? s : undefined;
  }, "the daemon to log the client's connections");
  return served.bytes;
}

/** Overwrites `bytes.length` bytes of a file at `at`, in place. */
function overwrite(path: string, at: number, bytes: Buffer): void {
  const content = readFileSync(path);
  bytes.copy(content, at);
  writeFileSync(path, content);
}

async function synced(): Promise<{ e: string; r: string; db: string; daemon: TestDaemon }> {
  const e = tempDir();
  const r = tempDir();
  const db = `${tempDir()}/client.db`;
  await writePatternFile(`${e}/big.bin`, SIZE, 7);
  writeFileSync(`${e}/small.txt`, "small\n");
  const daemon = await startTestDaemon([`code:${e}`]);
  await pullUntilInStep(daemon, db, { name: "code", e, r });
  return { e, r, db, daemon };
}

describe("delta transfer: a modified file R holds travels as its changed blocks", () => {
  test("4 KiB overwritten in the middle of a big file arrives intact, and far fewer bytes than the file travel", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      const before = (await bytesServed(daemon)).bytes;
      expect(before).toBeGreaterThanOrEqual(SIZE);
      overwrite(`${e}/big.bin`, SIZE / 2 + 123, Buffer.alloc(4096, 0xab));
      await pullUntilInStep(daemon, db, { name: "code", e, r });
      const runs = (await bytesServed(daemon)).connections;
      const sent = (await settledBytes(daemon, runs)) - before;
      expect(readFileSync(`${r}/big.bin`).equals(readFileSync(`${e}/big.bin`))).toBe(true);
      // The changed 4 KiB and at most a block either side of it, plus the ops.
      expect(sent).toBeGreaterThanOrEqual(4096);
      expect(sent).toBeLessThan(64 * 1024);
    } finally {
      await daemon.stop();
    }
  });

  test("many modified files at once all arrive as deltas: the client keeps within the daemon's limit of deltas in progress", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      for (let i = 0; i < 12; i++) await writePatternFile(`${e}/many-${i}.bin`, MiB, 100 + i);
      await pullUntilInStep(daemon, db, { name: "code", e, r });
      const before = (await bytesServed(daemon)).bytes;
      for (let i = 0; i < 12; i++) overwrite(`${e}/many-${i}.bin`, 1000 * i, Buffer.from(`edit ${i}`));
      await pullUntilInStep(daemon, db, { name: "code", e, r });
      const runs = (await bytesServed(daemon)).connections;
      expect((await settledBytes(daemon, runs)) - before).toBeLessThan(12 * 64 * 1024);
    } finally {
      await daemon.stop();
    }
  });

  test("without the feature (the client does not offer it), the changed file is fetched whole as before", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      const before = (await bytesServed(daemon)).bytes;
      overwrite(`${e}/big.bin`, 1000, Buffer.alloc(4096, 0xcd));
      await pullUntilInStep(daemon, db, { name: "code", e, r }, [], 20_000, { ZYNC_FEATURES: "" });
      const runs = (await bytesServed(daemon)).connections;
      expect((await settledBytes(daemon, runs)) - before).toBeGreaterThanOrEqual(SIZE);
      expect(readFileSync(`${r}/big.bin`).equals(readFileSync(`${e}/big.bin`))).toBe(true);
    } finally {
      await daemon.stop();
    }
  });

  test("a base R edited before the pull becomes a conflict, and R's edit stays as R wrote it", async () => {
    const { e, r, db, daemon } = await synced();
    try {
      overwrite(`${r}/big.bin`, 5000, Buffer.from("R's own edit"));
      const mine = readFileSync(`${r}/big.bin`);
      overwrite(`${e}/big.bin`, SIZE - 10, Buffer.from("E's edit!!"));
      const res = await waitFor(async () => {
        const run = await runBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`]);
        return /in conflict/.test(run.stdout + run.stderr) || run.code !== 0 ? run : undefined;
      }, "a run to report the conflict");
      expect({ code: res.code, out: res.stdout + res.stderr }).toMatchObject({ code: 3, out: expect.stringMatching(/code\/big\.bin/) as unknown as string });
      expect(readFileSync(`${r}/big.bin`).equals(mine)).toBe(true);
    } finally {
      await daemon.stop();
    }
  });
});

describe("delta transfer: a base that changes on R while the delta is applied is never placed", () => {
  test("the file made from a base R rewrote meanwhile is refused as not E's", async () => {
    const { e, r, db, daemon } = await synced();
    void db;
    const token = readFileSync(daemon.tokenFile, "utf8").trim();
    const conn = await DaemonConnection.open({ url: daemon.url, token, clientId: "delta-test", live: false });
    try {
      overwrite(`${e}/big.bin`, 4096, Buffer.alloc(4096, 0xee));
      const base = { abs: `${r}/big.bin`, ...(await hashFile(`${r}/big.bin`)) };
      // Untouched, the base gives E's file.
      const parts: Buffer[] = [];
      const end = await fetchDelta(conn, "code", "big.bin", "0000000000000000", base, (b) => Promise.resolve(void parts.push(Buffer.from(b))));
      expect(Buffer.concat(parts).equals(readFileSync(`${e}/big.bin`))).toBe(true);
      expect(end.size).toBe(SIZE);
      // R saves an edit to the end of its copy once the first bytes are out: blocks copied after it are R's.
      let first = true;
      const edited = fetchDelta(conn, "code", "big.bin", "0000000000000000", base, () => {
        if (first) overwrite(`${r}/big.bin`, SIZE - 100, Buffer.from("R's edit"));
        first = false;
        return Promise.resolve();
      });
      await expect(edited).rejects.toBeInstanceOf(BaseChangedError);
    } finally {
      conn.close();
      await daemon.stop();
    }
  });
});

const TOKEN = "delta-fake-token-0123456789";

/**
 * A daemon of its own that knows the token and agrees to "delta": it serves `big.bin` as `versions[n]` at the n-th
 * connection, and answers GET_DELTA with `ops` (an op stream).
 */
async function fakeDaemon(versions: Buffer[], ops: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  let connection = 0;
  wss.on("connection", (ws: WebSocket) => {
    const content = versions[Math.min(connection++, versions.length - 1)]!;
    const seq = connection;
    let t: { version: number; clientNonce: string; daemonNonce: string; clientId: string } | undefined;
    const send = (m: object): void => ws.send(JSON.stringify(m));
    const frame = (kind: number, id: number, data: Buffer): Buffer => {
      const head = Buffer.alloc(5);
      head[0] = kind;
      head.writeUInt32BE(id, 1);
      return Buffer.concat([head, data]);
    };
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse((data as Buffer).toString()) as Record<string, unknown> & { id: number };
      void (async () => {
        const hash = await hashBytes(content);
        const state = { kind: "file", hash, size: content.length, mode: 0o644, mtimeMs: 1_700_000_000_000 + seq };
        switch (msg.type) {
          case "HELLO":
            t = { version: 3, clientNonce: msg.nonce as string, daemonNonce: newNonce(), clientId: msg.clientId as string };
            return send({ type: "CHALLENGE", version: 3, nonce: t.daemonNonce });
          case "AUTH":
            return send({ type: "WELCOME", version: 3, epoch: "fake", head: seq, horizon: 0, roots: ["code"], features: ["delta"], halted: [], proof: handshakeProof(TOKEN, "daemon", t!) });
          case "GET_CHANGES": {
            const changes = (msg.since as number) < seq ? [{ seq, root: "code", path: "big.bin", state }] : [];
            return send({ type: "CHANGES", id: msg.id, changes, next: seq, head: seq, more: false });
          }
          case "GET_FILE":
            ws.send(frame(1, msg.id, content));
            return send({ type: "FILE_END", id: msg.id, size: content.length, hash, mode: 0o644, mtimeMs: state.mtimeMs });
          case "GET_DELTA":
            ws.send(frame(5, msg.id, ops));
            return send({ type: "FILE_END", id: msg.id, size: content.length, hash, mode: 0o644, mtimeMs: state.mtimeMs });
          case "ACK_CHANGES":
            return send({ type: "ACKED", id: msg.id, seq: msg.seq });
          default:
            return send({ type: "ERROR", id: msg.id, code: "BAD_MESSAGE", message: "not in this fake" });
        }
      })();
    });
  });
  await new Promise<void>((res) => http.listen(0, "127.0.0.1", res));
  const addr = http.address();
  return {
    url: `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    close: () =>
      new Promise((res) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => res(undefined));
      }),
  };
}

function opStream(size: number, op: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(size));
  return Buffer.concat([head, op]);
}

describe("delta transfer: a daemon that sends ops that do not fit is refused with one sentence, nothing placed", () => {
  const first = Buffer.alloc(256 * 1024, 1);
  const second = Buffer.alloc(256 * 1024, 2);
  const copy = (index: number, count: number): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = 1;
    b.writeUInt32BE(index, 1);
    b.writeUInt32BE(count, 5);
    return b;
  };
  const literal = (n: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = 2;
    b.writeUInt32BE(n, 1);
    return Buffer.concat([b, Buffer.alloc(n, 3)]);
  };
  test.each([
    ["a COPY out of the base's range", opStream(second.length, copy(100_000, 1)), /COPY of blocks 100000\.\.100000 of a base of \d+ blocks/],
    ["ops beyond the announced size", opStream(10, literal(20)), /more than the announced 10 bytes/],
  ])("%s", async (_name, ops, message) => {
    const fake = await fakeDaemon([first, second], ops);
    const r = tempDir();
    const db = `${tempDir()}/c.db`;
    const tokenFile = writeToken(`${tempDir()}/token`, TOKEN);
    const run = () => runBin(BIN.client, ["--once", "--server", fake.url, "--token-file", tokenFile, "--db", db, "--dirs", `code:${r}`]);
    try {
      expect(await run()).toMatchObject({ code: 0, stderr: "" });
      expect(readFileSync(`${r}/big.bin`).equals(first)).toBe(true);
      const res = await run();
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/the daemon sent a delta this client cannot apply/);
      expect(res.stderr).toMatch(message);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(readFileSync(`${r}/big.bin`).equals(first)).toBe(true);
      // No half-made file anywhere: the temp file was removed (its folder goes at the next run).
      expect(readdirSync(r).filter((n) => n !== "big.bin" && n !== ".zync-tmp")).toEqual([]);
      expect(existsSync(`${r}/.zync-tmp`) ? readdirSync(`${r}/.zync-tmp`) : []).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe("delta transfer: the daemon's side of GET_DELTA", () => {
  const sigFrame = (id: number, blocks: number): Buffer => {
    const b = Buffer.alloc(5 + 12 * blocks);
    b[0] = 4;
    b.writeUInt32BE(id, 1);
    return b;
  };
  const ask = (id: number, baseSize: number) => ({ type: "GET_DELTA", id, root: "code", path: "big.bin", blockSize: 65536, baseSize });

  test("a connection that did not agree to the feature gets no delta: signatures and GET_DELTA are refused", async () => {
    const { daemon } = await synced();
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { features: [] });
    try {
      expect(sock.welcome?.features).toEqual([]);
      const from = sock.frames.length;
      sock.ws.send(sigFrame(1, 128));
      expect(await sock.nextText(from)).toMatchObject({ type: "ERROR", id: 1, code: "BAD_MESSAGE", message: expect.stringMatching(/"delta" was not agreed/) as unknown as string });
      const { reply } = await sock.exchange(ask(1, SIZE));
      expect(reply).toMatchObject({ type: "ERROR", id: 1, code: "BAD_MESSAGE", message: expect.stringMatching(/"delta" was not agreed/) as unknown as string });
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });

  test("a fifth GET_DELTA while four are in progress on the connection is answered BUSY, and the four complete", async () => {
    const e = tempDir();
    const BIG = 16 * MiB;
    await writePatternFile(`${e}/big.bin`, BIG, 3);
    const daemon = await startTestDaemon([`code:${e}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { features: ["delta"] });
    try {
      // Signatures that match nothing: each answer is the whole file as literals, more than the socket holds, so
      // while this side does not read, the first four stay in progress.
      sock.ws.pause();
      for (let id = 1; id <= 5; id++) {
        sock.ws.send(sigFrame(id, Math.ceil(BIG / 65536)));
        sock.send({ ...ask(id, BIG), baseSize: BIG });
      }
      const from = 0;
      sock.ws.resume();
      expect(await sock.nextText(from, (m) => m.id === 5)).toMatchObject({ type: "ERROR", code: "BUSY", message: expect.stringMatching(/4 deltas are in progress/) as unknown as string });
      for (let id = 1; id <= 4; id++) expect(await sock.nextText(from, (m) => m.id === id)).toMatchObject({ type: "FILE_END", size: BIG });
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });

  test("with the feature, a GET_DELTA without its signatures, or with signatures that do not fit the base, is refused", async () => {
    const { daemon } = await synced();
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { features: ["delta"] });
    try {
      expect(sock.welcome?.features).toEqual(["delta"]);
      expect((await sock.exchange(ask(1, SIZE))).reply).toMatchObject({ type: "ERROR", id: 1, code: "BAD_MESSAGE", message: expect.stringMatching(/signatures frame/) as unknown as string });
      sock.ws.send(sigFrame(2, 3));
      expect((await sock.exchange(ask(2, SIZE))).reply).toMatchObject({ type: "ERROR", id: 2, code: "BAD_MESSAGE", message: expect.stringMatching(/signatures of 128 blocks take 1536 bytes, not 36/) as unknown as string });
      // Signatures that match nothing still give E's file, as one literal.
      sock.ws.send(sigFrame(3, 128));
      const { reply, from } = await sock.exchange(ask(3, SIZE));
      expect(reply).toMatchObject({ type: "FILE_END", id: 3, size: SIZE });
      const stream = sock.binariesFrom(from).filter((f) => f[0] === 5 && f.readUInt32BE(1) === 3);
      const streamBytes = stream.reduce((n, f) => n + f.length - 5, 0);
      expect(streamBytes).toBeGreaterThan(SIZE);
      expect(streamBytes).toBeLessThan(SIZE + 1024);
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });
});

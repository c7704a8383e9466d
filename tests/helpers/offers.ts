import { hashBytes } from "@zync/node";
import type { TestDaemon } from "./bins.js";
import { RawSocket, readToken } from "./rawSocket.js";

/** A file state as R would offer it. */
export type OfferedFile = { kind: "file"; hash: string; size: number; mode: number; mtimeMs: number };

/** An authenticated socket to the daemon, after HELLO/WELCOME. */
export async function openSession(daemon: TestDaemon): Promise<RawSocket> {
  const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile));
  await sock.hello();
  return sock;
}

/** A file state for `content`, with its real xxh64 hash. */
export async function fileStateOf(content: Buffer, mode = 0o644): Promise<OfferedFile> {
  return { kind: "file", hash: await hashBytes(content), size: content.length, mode, mtimeMs: 1_700_000_000_000 };
}

/** A binary data frame: kind 1, the request id as u32 big-endian, then the data. */
export function dataFrame(id: number, data: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(1, 0);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, data]);
}

let keys = 0;
/** A fresh offer key (hex, as the protocol wants). */
export function offerKey(): string {
  keys++;
  return `${Date.now().toString(16)}${keys.toString(16).padStart(8, "0")}`.padEnd(32, "0");
}

/** Sends one file of a session: UPSTREAM_FILE, one data frame, UPSTREAM_FILE_END claiming `end`; returns the answer. */
export async function upload(sock: RawSocket, id: number, session: number, path: string, data: Buffer, end: { size: number; hash: string }): Promise<Record<string, unknown>> {
  const from = sock.frames.length;
  sock.send({ type: "UPSTREAM_FILE", id, session, path });
  sock.ws.send(dataFrame(id, data));
  sock.send({ type: "UPSTREAM_FILE_END", id, size: end.size, hash: end.hash });
  return sock.nextText(from, (m) => m.id === id, `the answer to UPSTREAM_FILE_END ${id}`);
}

/** One change of an offer with the content it needs uploaded (none for folders, links and deletions). */
export type OfferedChange = { path: string; base: unknown; state: Record<string, unknown>; content?: Buffer };

/**
 * Offers `changes` on `sock`, uploads every content, and finalizes: the whole of an honest push, with whatever
 * paths and states the test chose. Returns the session and the answer to FINALIZE_UPSTREAM.
 */
export async function stageOffer(sock: RawSocket, root: string, changes: readonly OfferedChange[]): Promise<{ session: number; done: Record<string, unknown> }> {
  let id = 1000;
  const { reply } = await sock.exchange({ type: "PREPARE_UPSTREAM", id: id++, root, key: offerKey(), changes: changes.map(({ path, base, state }) => ({ path, base, state })) });
  if (reply.type !== "UPSTREAM_READY") throw new Error(`the offer was answered with ${JSON.stringify(reply)}`);
  const session = reply.session as number;
  for (const c of changes) {
    if (c.content === undefined) continue;
    const stored = await upload(sock, id++, session, c.path, c.content, { size: c.content.length, hash: await hashBytes(c.content) });
    if (stored.type !== "UPSTREAM_STORED") throw new Error(`the upload of ${c.path} was answered with ${JSON.stringify(stored)}`);
  }
  const { reply: done } = await sock.exchange({ type: "FINALIZE_UPSTREAM", id: id++, session });
  return { session, done };
}

/** A file change with its content, offered as new (no base). */
export async function newFile(path: string, text: string, mode = 0o644): Promise<OfferedChange> {
  const content = Buffer.from(text);
  return { path, base: null, state: await fileStateOf(content, mode), content };
}

/**
 * Runs the handshake on a socket opened without a token, with a client id of the test's choosing (a hostile
 * one, say), and resolves with WELCOME.
 */
export async function helloAs(sock: RawSocket, token: string, clientId: string): Promise<Record<string, unknown>> {
  return sock.authenticate(token, { clientId });
}

/**
 * The bytes of `text` that must never reach a terminal from the other side: C0 controls other than the newline,
 * DEL, C1 controls, and the marks that reorder text. Empty when the output is safe to print.
 */
export function controlCharsIn(text: string): string[] {
  return [...text.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g)].map((m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")}`);
}

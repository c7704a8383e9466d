import type { z } from "zod";
import { FromClientMessageSchema, type FromClientMessage } from "./messages/fromClient.js";
import { FromServerMessageSchema, type FromServerMessage } from "./messages/fromServer.js";

/** The outcome of decoding: a checked message, or a sentence saying why the input was refused. Never throws. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; error: string };

function decodeWith<T>(schema: z.ZodType<T>, text: string): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: "message is not valid JSON" };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  const error = `message does not match the protocol${where}: ${issue?.message ?? "invalid"}`;
  // The reason goes back on the wire in an ERROR, whose message is bounded; a hostile key must not blow it up.
  return { ok: false, error: error.length > 1000 ? `${error.slice(0, 999)}…` : error };
}

/** Decodes a text frame sent by a client. */
export function decodeFromClient(text: string): Decoded<FromClientMessage> {
  return decodeWith(FromClientMessageSchema, text);
}

/** Decodes a text frame sent by a daemon. */
export function decodeFromServer(text: string): Decoded<FromServerMessage> {
  return decodeWith(FromServerMessageSchema, text);
}

/** Encodes a message as a text frame. */
export function encodeMessage(message: FromClientMessage | FromServerMessage): string {
  return JSON.stringify(message);
}

/**
 * Binary frames carry file content: byte 0 is the frame kind, bytes 1..4 the stream id (the request id,
 * big-endian), the rest is data. Text frames carry every other message.
 */
export const BinaryFrameKind = {
  /** A chunk of a file's content, in order, for the request with this id. */
  FileData: 1,
  /** Feature "delta": the block signatures of R's base, sent before the GET_DELTA with this id. */
  DeltaSignatures: 4,
  /** Feature "delta": a piece of the op stream answering the GET_DELTA with this id. */
  DeltaOps: 5,
} as const;

const KNOWN_KINDS: ReadonlySet<number> = new Set(Object.values(BinaryFrameKind));

/** Bytes before the payload of a binary frame. */
export const BINARY_HEADER_BYTES = 5;

/** A decoded binary frame. `data` is a view into the received bytes, not a copy. */
export type BinaryFrame = { kind: (typeof BinaryFrameKind)[keyof typeof BinaryFrameKind]; id: number; data: Uint8Array };

/** Writes a binary frame header into the first bytes of `frame`; the caller puts the data after it. */
export function writeBinaryHeader(frame: Uint8Array, id: number, kind: BinaryFrame["kind"] = BinaryFrameKind.FileData): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  view.setUint8(0, kind);
  view.setUint32(1, id);
}

/** Decodes a binary frame, or explains why it is malformed. Never throws. */
export function decodeBinaryFrame(frame: Uint8Array): Decoded<BinaryFrame> {
  if (frame.byteLength < BINARY_HEADER_BYTES) return { ok: false, error: "binary frame is shorter than its header" };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const kind = view.getUint8(0);
  if (!KNOWN_KINDS.has(kind)) return { ok: false, error: `unknown binary frame kind ${kind}` };
  return { ok: true, message: { kind: kind as BinaryFrame["kind"], id: view.getUint32(1), data: frame.subarray(BINARY_HEADER_BYTES) } };
}

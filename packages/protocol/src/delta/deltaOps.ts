/**
 * Feature "delta" (docs/protocol.md section 14.6): the op stream the daemon sends for GET_DELTA. The stream is a
 * sequence of bytes carried by binary frames of kind DeltaOps, in order; frame boundaries mean nothing, so an op
 * (its header or a literal's bytes) may continue in the next frame. It starts with the size of E's file (8 bytes,
 * big-endian), then ops:
 * - COPY:    0x01, block index (u32), count of consecutive blocks (u32, at least 1): R's base bytes of those blocks.
 * - LITERAL: 0x02, length (u32, at least 1), then that many bytes of E's file.
 */
import type { Decoded } from "../codec.js";

/** Op codes of the delta op stream. */
export const DeltaOpCode = { Copy: 1, Literal: 2 } as const;

/** Bytes of the size that opens the op stream. */
export const DELTA_SIZE_BYTES = 8;
/** Bytes of a COPY op. */
export const COPY_OP_BYTES = 9;
/** Bytes of a LITERAL op before its data. */
export const LITERAL_HEADER_BYTES = 5;

/** One piece of a decoded op stream. A literal may arrive as several pieces, in order. */
export type DeltaEvent =
  | { kind: "size"; size: number }
  | { kind: "copy"; index: number; count: number }
  /** Bytes of a literal; `last` on the piece that completes it. A view into the received frame, not a copy. */
  | { kind: "literal"; bytes: Uint8Array; last: boolean };

/**
 * Packs an op stream into frames of at most `payloadBytes` after a header of `headerBytes` (written by
 * `writeHeader`), handing each full frame to `send`, which is awaited before the next is filled.
 */
export class DeltaOpWriter {
  private frame: Uint8Array;
  private used: number;
  private readonly scratch = new Uint8Array(COPY_OP_BYTES);
  private readonly scratchView = new DataView(this.scratch.buffer);
  /** Bytes of op stream written so far. */
  written = 0;

  private readonly headerBytes: number;
  private readonly payloadBytes: number;
  private readonly writeHeader: (frame: Uint8Array) => void;
  private readonly send: (frame: Uint8Array) => Promise<void>;

  constructor(headerBytes: number, payloadBytes: number, writeHeader: (frame: Uint8Array) => void, send: (frame: Uint8Array) => Promise<void>) {
    this.headerBytes = headerBytes;
    this.payloadBytes = payloadBytes;
    this.writeHeader = writeHeader;
    this.send = send;
    this.frame = new Uint8Array(headerBytes + payloadBytes);
    this.used = headerBytes;
  }

  /** Opens the stream with the size of E's file. */
  size(size: number): Promise<void> {
    this.scratchView.setBigUint64(0, BigInt(size));
    return this.put(this.scratch.subarray(0, DELTA_SIZE_BYTES));
  }

  copy(index: number, count: number): Promise<void> {
    this.scratchView.setUint8(0, DeltaOpCode.Copy);
    this.scratchView.setUint32(1, index);
    this.scratchView.setUint32(5, count);
    return this.put(this.scratch.subarray(0, COPY_OP_BYTES));
  }

  async literal(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) return;
    this.scratchView.setUint8(0, DeltaOpCode.Literal);
    this.scratchView.setUint32(1, bytes.byteLength);
    await this.put(this.scratch.subarray(0, LITERAL_HEADER_BYTES));
    await this.put(bytes);
  }

  /** Sends what is buffered. */
  async flush(): Promise<void> {
    if (this.used === this.headerBytes) return;
    const full = this.frame.subarray(0, this.used);
    this.writeHeader(full);
    this.frame = new Uint8Array(this.headerBytes + this.payloadBytes);
    this.used = this.headerBytes;
    await this.send(full);
  }

  private async put(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.byteLength) {
      const n = Math.min(bytes.byteLength - at, this.frame.byteLength - this.used);
      this.frame.set(bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      this.written += n;
      if (this.used === this.frame.byteLength) await this.flush();
    }
  }
}

/** Decodes an op stream frame by frame. Never throws: a malformed stream is reported once, and stays failed. */
export class DeltaOpReader {
  private readonly head = new Uint8Array(COPY_OP_BYTES);
  private headLen = 0;
  private sized = false;
  private literalLeft = 0;
  private failed: string | undefined;

  /** Decodes the next frame's payload into events. */
  push(data: Uint8Array): Decoded<DeltaEvent[]> {
    if (this.failed !== undefined) return { ok: false, error: this.failed };
    const events: DeltaEvent[] = [];
    let at = 0;
    while (at < data.byteLength) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, data.byteLength - at);
        this.literalLeft -= n;
        events.push({ kind: "literal", bytes: data.subarray(at, at + n), last: this.literalLeft === 0 });
        at += n;
        continue;
      }
      if (this.sized && this.headLen === 0 && data[at] !== DeltaOpCode.Copy && data[at] !== DeltaOpCode.Literal) {
        return this.fail(`unknown delta op ${data[at]}`);
      }
      const op = this.headLen === 0 ? data[at] : this.head[0];
      const need = (!this.sized ? DELTA_SIZE_BYTES : op === DeltaOpCode.Copy ? COPY_OP_BYTES : LITERAL_HEADER_BYTES) - this.headLen;
      const n = Math.min(need, data.byteLength - at);
      this.head.set(data.subarray(at, at + n), this.headLen);
      this.headLen += n;
      at += n;
      if (n < need) break;
      const view = new DataView(this.head.buffer);
      this.headLen = 0;
      if (!this.sized) {
        const size = view.getBigUint64(0);
        if (size > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail(`the announced size ${size} is too large`);
        this.sized = true;
        events.push({ kind: "size", size: Number(size) });
      } else if (this.head[0] === DeltaOpCode.Copy) {
        const count = view.getUint32(5);
        if (count === 0) return this.fail("a COPY of no blocks");
        events.push({ kind: "copy", index: view.getUint32(1), count });
      } else {
        const length = view.getUint32(1);
        if (length === 0) return this.fail("a LITERAL of no bytes");
        this.literalLeft = length;
      }
    }
    return { ok: true, message: events };
  }

  /** Checks that the stream ended where an op ends. */
  end(): Decoded<null> {
    if (this.failed !== undefined) return { ok: false, error: this.failed };
    if (!this.sized) return this.fail("the delta ended before the size of the file");
    if (this.headLen > 0 || this.literalLeft > 0) return this.fail("the delta ended in the middle of an op");
    return { ok: true, message: null };
  }

  private fail(error: string): { ok: false; error: string } {
    this.failed = error;
    return { ok: false, error };
  }
}

import { beforeAll, describe, expect, test } from "@jest/globals";
import { createHasher, DeltaApplier, encodeDelta, loadBlockHash, MAX_COPY_RUN, PAUSE_BYTES, signBase, type BlockHash, type SequentialReader } from "@zync/node";
import { blockSizeFor, DeltaOpWriter, ErrorCode, type BlockSignatures } from "@zync/protocol";
import { seededRandom } from "../../helpers/seededRandom.js";

let strong: BlockHash;
beforeAll(async () => {
  strong = await loadBlockHash();
});

function randomBytes(n: number, seed: number): Buffer {
  const rand = seededRandom(seed);
  const out = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  for (; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Reads a buffer in order, in pieces of at most `piece` bytes (files do not always fill a read). */
function readerOf(bytes: Uint8Array, piece = 7919): SequentialReader {
  let at = 0;
  return (buffer, offset, length) => {
    const n = Math.min(length, piece, bytes.byteLength - at);
    buffer.set(bytes.subarray(at, at + n), offset);
    at += n;
    return n;
  };
}

async function sign(base: Uint8Array): Promise<BlockSignatures> {
  return (await signBase(readerOf(base), base.byteLength, strong, await createHasher())).signatures;
}

/** Encodes `target` against `base`, carries the ops in frames of `payload` bytes, and rebuilds it from `base`. */
async function roundTrip(base: Buffer, target: Buffer, payload = 4096): Promise<{ out: Buffer; literal: number; copies: number; frames: number }> {
  const sig = await sign(base);
  const frames: Uint8Array[] = [];
  const writer = new DeltaOpWriter(5, payload, () => undefined, (f) => Promise.resolve(void frames.push(f.slice(5))));
  await writer.size(target.byteLength);
  let literal = 0;
  let copies = 0;
  for (const op of encodeDelta(sig, readerOf(target), strong)) {
    if (op.kind === "copy") {
      copies++;
      await writer.copy(op.index, op.count);
    } else {
      literal += op.bytes.byteLength;
      await writer.literal(op.bytes);
    }
  }
  await writer.flush();
  const parts: Buffer[] = [];
  const applier = new DeltaApplier(sig, (offset, length) => base.subarray(offset, offset + length), (bytes) => Promise.resolve(void parts.push(Buffer.from(bytes))));
  for (const f of frames) await applier.push(f);
  applier.end(target.byteLength);
  return { out: Buffer.concat(parts), literal, copies, frames: frames.length };
}

const SIZE = 200_000;
const B = blockSizeFor(SIZE);
const base = randomBytes(SIZE, 1);
const other = randomBytes(SIZE, 2);
const patch = randomBytes(4096, 3);
const overwrite = (at: number, bytes: Buffer): Buffer => Buffer.concat([base.subarray(0, at), bytes, base.subarray(at + bytes.byteLength)]);

// [name, base, target, most literal bytes the delta may carry]
const CASES: [string, Buffer, Buffer, number][] = [
  ["identical", base, base, 0],
  ["4 KiB overwritten at the start", base, overwrite(0, patch), 4096 + B],
  ["4 KiB overwritten in the middle", base, overwrite(100_001, patch), 4096 + 2 * B],
  ["4 KiB overwritten at the end", base, overwrite(SIZE - 4096, patch), 4096 + 2 * B],
  ["shrinks at the end", base, base.subarray(0, SIZE - 5000), B],
  ["shrinks in the middle", base, Buffer.concat([base.subarray(0, 50_000), base.subarray(53_000)]), 2 * B],
  ["shrinks at the start", base, base.subarray(3001), B],
  ["grows at the end", base, Buffer.concat([base, patch]), 4096 + B],
  ["grows in the middle (everything after shifts)", base, Buffer.concat([base.subarray(0, 77_777), patch.subarray(0, 777), base.subarray(77_777)]), 777 + 2 * B],
  ["grows at the start", base, Buffer.concat([patch.subarray(0, 13), base]), 13 + B],
  ["completely different", base, other, SIZE],
  ["empty base", Buffer.alloc(0), other, SIZE],
  ["empty file", base, Buffer.alloc(0), 0],
  ["one byte changed on a block boundary", base, overwrite(10 * B, Buffer.from([base[10 * B]! ^ 0xff])), B],
  ["one whole block replaced, aligned", base, overwrite(3 * B, randomBytes(B, 9)), B],
  ["a block inserted at a block boundary", base, Buffer.concat([base.subarray(0, 5 * B), randomBytes(B, 10), base.subarray(5 * B)]), B],
  ["a base of whole blocks, grown", base.subarray(0, 20 * B), Buffer.concat([base.subarray(0, 20 * B), patch]), 4096],
  ["the short last block kept, bytes appended after it", base, Buffer.concat([base, Buffer.from("tail")]), 4],
  ["the short last block moved to the end", base, Buffer.concat([base.subarray(0, 2 * B), patch, base.subarray(2 * B)]), 4096 + B],
  ["a file shorter than one block", base.subarray(0, 1000), Buffer.concat([base.subarray(0, 1000), Buffer.from("x")]), 1001],
  ["blocks reordered", base, Buffer.concat([base.subarray(50 * B), base.subarray(0, 50 * B)]), B],
];

describe("delta transfer rebuilds E's file from R's base", () => {
  test.each(CASES)("%s", async (_name, from, to, most) => {
    const { out, literal } = await roundTrip(from, to);
    expect(out.equals(to)).toBe(true);
    expect(literal).toBeLessThanOrEqual(most);
  });

  test("consecutive unchanged blocks travel as one COPY", async () => {
    const { copies } = await roundTrip(base, overwrite(100_001, patch));
    expect(copies).toBe(2);
  });

  test("a literal longer than a frame spans frames and arrives whole", async () => {
    const { out, frames } = await roundTrip(Buffer.alloc(0), other, 1000);
    expect(frames).toBeGreaterThan(SIZE / 1000);
    expect(out.equals(other)).toBe(true);
  });

  test("signatures read a base as it is, and hash the whole of it", async () => {
    const signed = await signBase(readerOf(base, 333), base.byteLength, strong, await createHasher());
    expect(signed.size).toBe(SIZE);
    expect(signed.signatures.weak.length).toBe(Math.ceil(SIZE / B));
    const whole = await createHasher();
    whole.update(base);
    expect(signed.hash).toBe(whole.digest());
  });
});

/** A frame of ops made by hand: the size, then the ops. */
function ops(size: number, ...parts: (["copy", number, number] | ["literal", Buffer])[]): Buffer {
  const out: Buffer[] = [];
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(size));
  out.push(head);
  for (const p of parts) {
    if (p[0] === "copy") {
      const b = Buffer.alloc(9);
      b[0] = 1;
      b.writeUInt32BE(p[1], 1);
      b.writeUInt32BE(p[2], 5);
      out.push(b);
    } else {
      const b = Buffer.alloc(5);
      b[0] = 2;
      b.writeUInt32BE(p[1].byteLength, 1);
      out.push(b, p[1]);
    }
  }
  return Buffer.concat(out);
}

describe("a delta that does not fit the base or its announced size is refused", () => {
  const geometry = { blockSize: 2048, baseSize: 5000 }; // three blocks, the last of 904 bytes
  const HOSTILE: [string, Buffer, number, RegExp][] = [
    ["a COPY beyond the base's blocks", ops(2048, ["copy", 3, 1]), 2048, /COPY of blocks 3\.\.3 of a base of 3 blocks/],
    ["a COPY whose count runs past the base", ops(6144, ["copy", 1, 3]), 6144, /base of 3 blocks/],
    ["a COPY of a huge index", ops(1, ["copy", 0xffffffff, 0xffffffff]), 1, /base of 3 blocks/],
    ["a COPY of no blocks", ops(0, ["copy", 0, 0]), 0, /COPY of no blocks/],
    ["ops beyond the announced size", ops(10, ["literal", Buffer.alloc(11)]), 10, /more than the announced 10 bytes/],
    ["copies beyond the announced size", ops(100, ["copy", 0, 1]), 100, /more than the announced 100 bytes/],
    ["an unknown op", Buffer.concat([ops(1), Buffer.from([9])]), 1, /unknown delta op 9/],
    ["a LITERAL of no bytes", ops(0, ["literal", Buffer.alloc(0)]), 0, /LITERAL of no bytes/],
    ["a stream cut in the middle of an op", ops(10, ["literal", Buffer.alloc(10)]).subarray(0, 20), 10, /middle of an op/],
    ["fewer bytes than announced", ops(10, ["literal", Buffer.alloc(5)]), 10, /made 5 bytes of the announced 10/],
    ["an announced size that FILE_END contradicts", ops(5, ["literal", Buffer.alloc(5)]), 6, /announced 5 bytes but FILE_END says 6/],
  ];
  test.each(HOSTILE)("%s", async (_name, stream, endSize, message) => {
    let written = 0;
    const applier = new DeltaApplier(geometry, (o, l) => Buffer.alloc(Math.min(l, 5000 - o)), (b) => Promise.resolve(void (written += b.byteLength)));
    const run = async (): Promise<void> => {
      await applier.push(stream);
      applier.end(endSize);
    };
    await expect(run()).rejects.toMatchObject({ code: ErrorCode.BadMessage, message: expect.stringMatching(message) as unknown as string });
    expect(written).toBeLessThanOrEqual(endSize);
  });

  test("a base that reads short (R truncated it) is refused as changed", async () => {
    const applier = new DeltaApplier(geometry, () => Buffer.alloc(10), () => Promise.resolve());
    await expect(applier.push(ops(2048, ["copy", 0, 1]))).rejects.toMatchObject({ code: ErrorCode.ContentMismatch });
  });

  test("ops split at every byte decode the same", async () => {
    const stream = ops(2048 + 3 + 904, ["copy", 0, 1], ["literal", Buffer.from("abc")], ["copy", 2, 1]);
    const parts: Buffer[] = [];
    const baseBytes = randomBytes(5000, 4);
    const applier = new DeltaApplier(geometry, (o, l) => baseBytes.subarray(o, o + l), (b) => Promise.resolve(void parts.push(Buffer.from(b))));
    for (let i = 0; i < stream.byteLength; i++) await applier.push(stream.subarray(i, i + 1));
    applier.end(2048 + 3 + 904);
    expect(Buffer.concat(parts).equals(Buffer.concat([baseBytes.subarray(0, 2048), Buffer.from("abc"), baseBytes.subarray(4096)]))).toBe(true);
  });
});

describe("delta transfer of a big file keeps the process responsive", () => {
  test("a long unchanged stretch is copied in runs of at most MAX_COPY_RUN blocks, and signing pauses as it reads", async () => {
    // 9 MiB: blocks of 3 KiB, so 3072 blocks, three full runs; one pause at 8 MiB.
    const big = Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => randomBytes(1024 * 1024, 100 + i)));
    expect(blockSizeFor(big.byteLength) * MAX_COPY_RUN * 3).toBe(big.byteLength);
    let pauses = 0;
    const signed = await signBase(readerOf(big), big.byteLength, strong, await createHasher(), () => Promise.resolve(void pauses++));
    expect(pauses).toBe(Math.floor(big.byteLength / PAUSE_BYTES));
    const runs = [...encodeDelta(signed.signatures, readerOf(big), strong)];
    expect(runs).toEqual([0, 1, 2].map((i) => ({ kind: "copy", index: i * MAX_COPY_RUN, count: MAX_COPY_RUN })));
  });
});

import { describe, expect, test } from "@jest/globals";
import { blockSizeFor, BinaryFrameKind, decodeBinaryFrame, decodeSignatures, DeltaOpReader, DeltaOpWriter, encodeSignatures, MAX_DELTA_BLOCKS, writeBinaryHeader, type DeltaEvent } from "@zync/protocol";
import { rollChecksum, weakChecksum } from "@zync/node";

describe("delta block sizes", () => {
  test.each([
    [0, 2048],
    [64 * 1024, 2048],
    [100 * 1024 * 1024, 10240],
    [1024 * 1024 * 1024, 32768],
    [64 * 1024 * 1024 * 1024, 131072],
    [1024 * 1024 * 1024 * 1024, 2097152],
  ])("a base of %i bytes is cut into blocks of %i", (size, block) => {
    expect(blockSizeFor(size)).toBe(block);
    expect(Math.ceil(size / block)).toBeLessThanOrEqual(MAX_DELTA_BLOCKS);
  });
});

describe("delta signatures on the wire", () => {
  const sig = { blockSize: 4, baseSize: 10, weak: new Uint32Array([1, 0xffffffff, 7]), strong: new BigUint64Array([2n, 0xffffffffffffffffn, 9n]) };

  test("a signatures frame is the header, then 12 bytes a block: weak u32 and strong u64, big-endian", () => {
    const frame = encodeSignatures(sig, 5);
    writeBinaryHeader(frame, 3, BinaryFrameKind.DeltaSignatures);
    expect([...frame.subarray(0, 5 + 12)]).toEqual([4, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    const d = decodeBinaryFrame(frame);
    if (!d.ok) throw new Error(d.error);
    expect(d.message.kind).toBe(BinaryFrameKind.DeltaSignatures);
    expect(decodeSignatures(d.message.data, 4, 10)).toEqual({ ok: true, message: sig });
  });

  test.each([
    ["a length that is not 12 bytes a block", new Uint8Array(35), 4, 10, /signatures of 3 blocks take 36 bytes, not 35/],
    ["a block size of 0", new Uint8Array(0), 0, 10, /block size 0 is outside/],
    ["a negative base size", new Uint8Array(0), 4, -1, /base size -1 is not a size/],
    ["too many blocks", new Uint8Array(0), 1, MAX_DELTA_BLOCKS + 1, /more than 524288 blocks/],
  ])("signatures with %s are refused", (_name, data, blockSize, baseSize, message) => {
    const d = decodeSignatures(data, blockSize, baseSize);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error).toMatch(message);
  });
});

describe("the delta op stream", () => {
  test("ops written into frames of any size decode to the same ops, a literal in pieces", async () => {
    for (const payload of [1, 2, 7, 9, 64]) {
      const frames: Uint8Array[] = [];
      const w = new DeltaOpWriter(5, payload, (f) => writeBinaryHeader(f, 1, BinaryFrameKind.DeltaOps), (f) => Promise.resolve(void frames.push(f.subarray(5))));
      await w.size(2 ** 40);
      await w.copy(0xfffffffe, 3);
      await w.literal(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      await w.copy(0, 1);
      await w.flush();
      expect(w.written).toBe(8 + 9 + 5 + 10 + 9);
      const r = new DeltaOpReader();
      const events: DeltaEvent[] = [];
      for (const f of frames) {
        const d = r.push(f);
        if (!d.ok) throw new Error(d.error);
        events.push(...d.message);
      }
      expect(r.end()).toEqual({ ok: true, message: null });
      const literal = events.flatMap((e) => (e.kind === "literal" ? [...e.bytes] : []));
      expect(literal).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(events.filter((e) => e.kind !== "literal")).toEqual([
        { kind: "size", size: 2 ** 40 },
        { kind: "copy", index: 0xfffffffe, count: 3 },
        { kind: "copy", index: 0, count: 1 },
      ]);
      expect(events.filter((e) => e.kind === "literal" && e.last)).toHaveLength(1);
    }
  });

  test("an announced size beyond safe integers is refused, and the reader stays failed", () => {
    const r = new DeltaOpReader();
    const d = r.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(d.ok).toBe(false);
    expect(r.push(new Uint8Array([1])).ok).toBe(false);
    expect(r.end().ok).toBe(false);
  });
});

describe("the weak rolling checksum", () => {
  test("rolling a window one byte on equals computing it afresh", () => {
    const bytes = new Uint8Array(5000).map((_, i) => (i * 7919 + (i >> 3)) & 0xff);
    for (const length of [1, 2, 16, 2048]) {
      let weak = weakChecksum(bytes, 0, length);
      for (let p = 0; p + length < bytes.length; p++) {
        weak = rollChecksum(weak, bytes[p]!, bytes[p + length]!, length);
        if (p % 97 === 0) expect(weak).toBe(weakChecksum(bytes, p + 1, length));
      }
      expect(weak).toBe(weakChecksum(bytes, bytes.length - length, length));
    }
  });

  test("the sums are the bytes' sum and their weighted sum, modulo 2^16", () => {
    expect(weakChecksum(new Uint8Array([1, 2, 3]), 0, 3)).toBe(((3 * 1 + 2 * 2 + 1 * 3) << 16) | 6);
    expect(weakChecksum(new Uint8Array(300).fill(255), 0, 300)).toBe(((((255 * 300 * 301) / 2) & 0xffff) * 65536 + ((255 * 300) & 0xffff)) >>> 0);
  });
});

describe("the weak checksum at any alignment", () => {
  test("a window read four bytes at a time has the checksum of the same bytes read one by one", () => {
    const bytes = new Uint8Array(4099).map((_, i) => (i * 131 + 17) & 0xff);
    const byByte = (from: number, length: number): number => {
      let a = 0;
      let b = 0;
      for (let i = 0; i < length; i++) {
        a += bytes[from + i]!;
        b += (length - i) * bytes[from + i]!;
      }
      return (((b & 0xffff) << 16) | (a & 0xffff)) >>> 0;
    };
    for (const [from, length] of [[0, 4096], [1, 4096], [4, 4095], [3, 1], [0, 3], [8, 4091]] as const) {
      expect(weakChecksum(bytes, from, length)).toBe(byByte(from, length));
    }
  });
});

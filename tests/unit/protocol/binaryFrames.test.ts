import { describe, expect, test } from "@jest/globals";
import { BINARY_HEADER_BYTES, BinaryFrameKind, decodeBinaryFrame, writeBinaryHeader } from "@zync/protocol";

function frameWith(id: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(BINARY_HEADER_BYTES + payload.byteLength);
  frame.set(payload, BINARY_HEADER_BYTES);
  writeBinaryHeader(frame, id);
  return frame;
}

describe("binary frames", () => {
  test.each([0, 1, 258, 0x7fffffff, 0xffffffff])("the header round-trips stream id %i with its payload", (id) => {
    const payload = new Uint8Array([0, 1, 2, 250, 255]);
    const d = decodeBinaryFrame(frameWith(id, payload));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.message.kind).toBe(BinaryFrameKind.FileData);
    expect(d.message.id).toBe(id);
    expect([...d.message.data]).toEqual([...payload]);
  });

  test("the header is the kind byte then the id big-endian", () => {
    const frame = frameWith(0x01020304, new Uint8Array([9]));
    expect([...frame]).toEqual([BinaryFrameKind.FileData, 1, 2, 3, 4, 9]);
  });

  test("a frame of exactly the header carries empty data", () => {
    const d = decodeBinaryFrame(frameWith(5, new Uint8Array()));
    expect(d).toEqual({ ok: true, message: { kind: BinaryFrameKind.FileData, id: 5, data: new Uint8Array() } });
  });

  test("the data is a view into the received bytes, not a copy", () => {
    const frame = frameWith(1, new Uint8Array([7, 8]));
    const d = decodeBinaryFrame(frame);
    if (!d.ok) throw new Error(d.error);
    expect(d.message.data.buffer).toBe(frame.buffer);
    frame[BINARY_HEADER_BYTES] = 42;
    expect(d.message.data[0]).toBe(42);
  });

  test("header and decode respect a frame that starts inside a larger buffer", () => {
    const big = new Uint8Array(64).fill(0xee);
    const frame = big.subarray(10, 10 + BINARY_HEADER_BYTES + 3);
    frame.set([1, 2, 3], BINARY_HEADER_BYTES);
    writeBinaryHeader(frame, 77);
    expect(big[0]).toBe(0xee); // nothing written before the view
    expect(big[9]).toBe(0xee);
    const d = decodeBinaryFrame(frame);
    if (!d.ok) throw new Error(d.error);
    expect(d.message.id).toBe(77);
    expect([...d.message.data]).toEqual([1, 2, 3]);
  });

  test("a Node Buffer taken from a pooled slab decodes from its own offset", () => {
    const buf = Buffer.from([0xff, 0xff, 1, 0, 0, 0, 9, 0xab]).subarray(2);
    const d = decodeBinaryFrame(buf);
    if (!d.ok) throw new Error(d.error);
    expect(d.message.id).toBe(9);
    expect([...d.message.data]).toEqual([0xab]);
  });

  test.each([0, 1, 2, 3, 4])("a %i-byte frame, shorter than the header, is refused", (n) => {
    const frame = new Uint8Array(n).fill(BinaryFrameKind.FileData);
    let d: ReturnType<typeof decodeBinaryFrame> | undefined;
    expect(() => (d = decodeBinaryFrame(frame))).not.toThrow();
    expect(d!.ok).toBe(false);
    if (!d!.ok) expect(d!.error).toMatch(/shorter than its header/);
  });

  test.each([0, 2, 3, 127, 255])("a frame of unknown kind %i is refused", (kind) => {
    const frame = frameWith(1, new Uint8Array([1, 2]));
    frame[0] = kind;
    const d = decodeBinaryFrame(frame);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error).toMatch(new RegExp(`unknown binary frame kind ${kind}`));
  });
});

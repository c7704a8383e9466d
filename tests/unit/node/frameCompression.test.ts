import { describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { BINARY_HEADER_BYTES } from "@zync/protocol";
import { CompressionChoice, deflateNegotiated, sampleIncompressible, type CompressingSocket } from "@zync/node";

/** A socket as the compression choice sees it; pings are answered when `answer` is called. */
function fakeSocket(extensions: string): CompressingSocket & { pings: number; answer(): void } {
  let onPong: (() => void) | undefined;
  return {
    extensions,
    pings: 0,
    ping() {
      this.pings++;
    },
    on(event: "pong" | "close", listener: () => void) {
      if (event === "pong") onPong = listener;
      return this;
    },
    answer() {
      onPong?.();
    },
  };
}

const text = Buffer.from("export const value = await result(index);\n".repeat(2000));

function frameOf(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(BINARY_HEADER_BYTES + data.byteLength);
  frame.set(data, BINARY_HEADER_BYTES);
  return frame;
}

describe("compression choice", () => {
  test("random bytes fail the trial and text passes it", () => {
    expect(sampleIncompressible(randomBytes(16 * 1024))).toBe(true);
    expect(sampleIncompressible(text.subarray(0, 16 * 1024))).toBe(false);
  });

  test("permessage-deflate is recognised in the agreed extensions", () => {
    expect(deflateNegotiated({ extensions: "permessage-deflate; client_max_window_bits=15" })).toBe(true);
    expect(deflateNegotiated({ extensions: "" })).toBe(false);
  });

  test("nothing is compressed before the feature is enabled, nor when the upgrade did not agree to deflate", () => {
    const off = new CompressionChoice(fakeSocket("permessage-deflate"), "always");
    expect(off.forFile("a.ts")(frameOf(text))).toBe(false);
    const noExtension = new CompressionChoice(fakeSocket(""), "always");
    noExtension.enable(50);
    expect(noExtension.enabled).toBe(false);
    expect(noExtension.text("x".repeat(10_000))).toBe(false);
  });

  test("a file whose first chunk does not shrink goes raw from then on; text is compressed", () => {
    const choice = new CompressionChoice(fakeSocket("permessage-deflate"), "always");
    choice.enable(50);
    const noisy = choice.forFile("data/blob.bin");
    expect(noisy(frameOf(randomBytes(64 * 1024)))).toBe(false);
    expect(noisy(frameOf(text))).toBe(false);
    expect(choice.forFile("src/a.ts")(frameOf(text))).toBe(true);
    expect(choice.forFile("img/a.png")(frameOf(text))).toBe(false);
  });

  test("pings bring the round trip down to the shortest seen, and auto mode follows it", () => {
    const ws = fakeSocket("permessage-deflate");
    const choice = new CompressionChoice(ws, "auto");
    choice.enable(50);
    expect(choice.forFile("src/a.ts")(frameOf(text))).toBe(true);
    expect(ws.pings).toBe(1);
    for (let i = 0; i < 10; i++) ws.answer();
    expect(ws.pings).toBe(4);
    expect(choice.roundTripMs).toBeLessThan(10);
    expect(choice.forFile("src/a.ts")(frameOf(text))).toBe(false);
  });
});

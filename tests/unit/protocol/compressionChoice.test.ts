import { describe, expect, test } from "@jest/globals";
import { COMPRESS_TEXT_ALWAYS_BYTES, COMPRESS_WAN_RTT_MS, looksCompressed, shouldCompress, type CompressInput } from "@zync/protocol";

const base: CompressInput = { mode: "auto", kind: "data", bytes: 64 * 1024, incompressible: false, rttMs: 0.3 };

describe("when a sender compresses a frame", () => {
  test.each<[string, Partial<CompressInput>, boolean]>([
    ["data on a fast link with nothing waiting goes raw", {}, false],
    ["data on a link with a real round trip is compressed", { rttMs: COMPRESS_WAN_RTT_MS }, true],
    ["data of an incompressible file goes raw even on a slow link", { incompressible: true, rttMs: 40 }, false],
    ["a large text frame (a page of changes) is always compressed", { kind: "text", bytes: COMPRESS_TEXT_ALWAYS_BYTES }, true],
    ["a small text frame on a fast link goes raw", { kind: "text", bytes: 200 }, false],
    ["a small text frame on a slow link is compressed", { kind: "text", bytes: 200, rttMs: 40 }, true],
    ["a tiny frame is never compressed", { bytes: 100, mode: "always" }, false],
    ["mode always compresses on a fast link", { mode: "always" }, true],
    ["mode never compresses nothing, whatever the link", { mode: "never", rttMs: 40, kind: "text", bytes: 1e6 }, false],
  ])("%s", (_name, change, expected) => {
    expect(shouldCompress({ ...base, ...change })).toBe(expected);
  });

  test.each<[string, boolean]>([
    ["assets/photo.JPG", true],
    ["release/app.tar.gz", true],
    ["a/b/font.woff2", true],
    ["model.safetensors", true],
    ["src/main.ts", false],
    ["notes.gz.txt", false],
    [".gz", false],
    ["Makefile", false],
  ])("the name %s says compressed already: %s", (path, expected) => {
    expect(looksCompressed(path)).toBe(expected);
  });
});

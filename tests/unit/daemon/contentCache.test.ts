import { afterAll, describe, expect, test } from "@jest/globals";
import { utimesSync, writeFileSync } from "node:fs";
import { ContentCache, RACY_HOLD_MS } from "@zync/daemon";
import { hashBytes } from "@zync/node";
import type { FileState } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

/** Writes a file whose timestamps are an hour old, so its stat key is not racy. */
async function oldFile(path: string, text: string): Promise<FileState> {
  writeFileSync(path, text);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(path, old, old);
  return { kind: "file", hash: await hashBytes(Buffer.from(text)), size: Buffer.byteLength(text), mode: 0o644, mtimeMs: old.getTime() };
}

/** Sends the file through the cache and returns the bytes of the data frames and what was reported. */
async function served(cache: ContentCache, abs: string, recorded: FileState): Promise<{ text: string; hash: string }> {
  const parts: Buffer[] = [];
  const sent = await cache.send("code", "f.txt", abs, recorded, 7, (frame) => {
    expect(frame[0]).toBe(1);
    expect(Buffer.from(frame).readUInt32BE(1)).toBe(7);
    parts.push(Buffer.from(frame.subarray(5)));
    return Promise.resolve();
  });
  return { text: Buffer.concat(parts).toString("utf8"), hash: sent.hash };
}

describe("content cache", () => {
  test("hands on the content it serves with the hash the change log records, and nothing else", async () => {
    const abs = `${tempDir()}/f.txt`;
    const recorded = await oldFile(abs, "served version\n");
    const kept: [string, string][] = [];
    const cache = new ContentCache(undefined, undefined, undefined, (hash, bytes) => kept.push([hash, bytes.toString("utf8")]));
    await served(cache, abs, recorded);
    // E rewrote the file and the log has not recorded it yet: what is sent is not the recorded version.
    writeFileSync(abs, "newer on E\n");
    await served(cache, abs, recorded);
    expect(kept).toEqual([[recorded.hash, "served version\n"]]);
  });

  test("a file served to many is read once, and each gets its content with its hash", async () => {
    const abs = `${tempDir()}/f.txt`;
    const recorded = await oldFile(abs, "shared content\n");
    const cache = new ContentCache();
    const all = await Promise.all(Array.from({ length: 5 }, () => served(cache, abs, recorded)));
    all.push(await served(cache, abs, recorded));
    for (const got of all) expect(got).toEqual({ text: "shared content\n", hash: recorded.hash });
    expect(cache.counts).toEqual({ served: 6, reads: 1 });
  });

  test("a file whose stat key moved is read again, even when the change log still records the old content", async () => {
    const abs = `${tempDir()}/f.txt`;
    const recorded = await oldFile(abs, "old\n");
    const cache = new ContentCache();
    await served(cache, abs, recorded);
    // E rewrites the file; the log has not recorded it yet: what is on disk now is sent, with its own hash.
    writeFileSync(abs, "new!\n");
    const got = await served(cache, abs, recorded);
    expect(got.text).toBe("new!\n");
    expect(got.hash).toBe(await hashBytes(Buffer.from("new!\n")));
    expect(cache.counts.reads).toBe(2);
  });

  test("an entry is used only for the hash the change log records now", async () => {
    const abs = `${tempDir()}/f.txt`;
    const recorded = await oldFile(abs, "same bytes\n");
    const cache = new ContentCache();
    await served(cache, abs, recorded);
    await served(cache, abs, { ...recorded, hash: "0123456789abcdef" });
    expect(cache.counts.reads).toBe(2);
  });

  test("content read while its file was racy is held only for a short time", async () => {
    const abs = `${tempDir()}/f.txt`;
    writeFileSync(abs, "just saved\n");
    const recorded: FileState = { kind: "file", hash: await hashBytes(Buffer.from("just saved\n")), size: 11, mode: 0o644, mtimeMs: Date.now() };
    let now = Date.now();
    const cache = new ContentCache(undefined, undefined, () => now);
    await served(cache, abs, recorded);
    await served(cache, abs, recorded);
    expect(cache.counts.reads).toBe(1);
    now += RACY_HOLD_MS + 1;
    await served(cache, abs, recorded);
    expect(cache.counts.reads).toBe(2);
  });

  test("the cache holds no more bytes than its bound, and larger files are streamed from the disk each time", async () => {
    const dir = tempDir();
    const cache = new ContentCache(3000, 2000);
    const a = await oldFile(`${dir}/a`, "a".repeat(1600));
    const b = await oldFile(`${dir}/b`, "b".repeat(1600));
    const big = await oldFile(`${dir}/big`, "c".repeat(2500));
    const send = (abs: string, r: FileState, path: string) => cache.send("code", path, abs, r, 1, () => Promise.resolve());
    await send(`${dir}/a`, a, "a");
    await send(`${dir}/b`, b, "b");
    // Both do not fit: a went out first.
    await send(`${dir}/a`, a, "a");
    expect(cache.counts.reads).toBe(3);
    await send(`${dir}/big`, big, "big");
    await send(`${dir}/big`, big, "big");
    expect(cache.counts.reads).toBe(5);
  });
});

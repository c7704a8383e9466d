import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

const CHUNK = 1024 * 1024;

/**
 * Writes `size` bytes of deterministic, non-repeating-by-chunk content to `path`, fast: one 1 MiB pattern made
 * from `seed` with a cheap generator, written again and again with the chunk's index and the seed stamped into
 * its first 16 bytes, so two chunks never match and a reordered or repeated chunk changes the hash.
 */
export async function writePatternFile(path: string, size: number, seed = 1): Promise<void> {
  const pattern = Buffer.allocUnsafe(CHUNK);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < CHUNK; i += 4) {
    // xorshift32: plenty for test data, far faster than crypto.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    pattern.writeUInt32LE(x, i);
  }
  const handle = await open(path, "w");
  try {
    let written = 0;
    for (let index = 0; written < size; index++) {
      pattern.writeDoubleLE(index, 0);
      pattern.writeDoubleLE(seed, 8);
      const n = Math.min(CHUNK, size - written);
      let off = 0;
      while (off < n) off += (await handle.write(pattern, off, n - off)).bytesWritten;
      written += n;
    }
  } finally {
    await handle.close();
  }
}

/** sha256 of a file, streamed with a bounded buffer (never the whole file in memory). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

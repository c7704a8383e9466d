import { blockCount, blockSizeFor, type BlockSignatures } from "@zync/protocol";
import type { BlockHash, ContentHasher } from "../fs/hash.js";
import { weakChecksum } from "./rollingChecksum.js";

/** Reads the next bytes of a file in order into `buffer[offset, offset + length)`; 0 at its end. */
export type SequentialReader = (buffer: Uint8Array, offset: number, length: number) => number;

/** Bytes read between two pauses of {@link signBase}. */
export const PAUSE_BYTES = 8 * 1024 * 1024;

const nothing = (): Promise<void> => Promise.resolve();

/** A base's signatures, and the whole-file hash and size of the bytes they were computed over. */
export type SignedBase = { signatures: BlockSignatures; hash: string; size: number };

/**
 * Reads a base once, in order, computing each block's weak checksum and strong hash and the hash of the whole.
 * `expectedSize` chooses the block size; a base that turns out to be longer or shorter is still signed as read,
 * and the caller compares `hash` and `size` with what it expected. Memory: the signatures and one block.
 * `pause` is awaited after every PAUSE_BYTES read, so a big base does not hold up the rest of the process.
 */
export async function signBase(read: SequentialReader, expectedSize: number, strong: BlockHash, whole: ContentHasher, pause: () => Promise<void> = nothing): Promise<SignedBase> {
  const blockSize = blockSizeFor(expectedSize);
  const capacity = blockCount(expectedSize, blockSize);
  let weak = new Uint32Array(capacity);
  let strongs = new BigUint64Array(capacity);
  const block = new Uint8Array(blockSize);
  let n = 0;
  let size = 0;
  for (;;) {
    let filled = 0;
    while (filled < blockSize) {
      const got = read(block, filled, blockSize - filled);
      if (got === 0) break;
      filled += got;
    }
    if (filled === 0) break;
    if (n === weak.length) {
      // The base grew since its size was taken: its hash will not match, but the signatures stay consistent.
      weak = grow(weak, new Uint32Array(n * 2 + 1));
      strongs = grow(strongs, new BigUint64Array(n * 2 + 1));
    }
    const bytes = block.subarray(0, filled);
    whole.update(bytes);
    weak[n] = weakChecksum(bytes, 0, filled);
    strongs[n] = strong(bytes);
    n++;
    size += filled;
    if (filled < blockSize) break;
    if (size % PAUSE_BYTES < blockSize) await pause();
  }
  return { signatures: { blockSize, baseSize: size, weak: weak.subarray(0, n), strong: strongs.subarray(0, n) }, hash: whole.digest(), size };
}

function grow<T extends Uint32Array | BigUint64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}

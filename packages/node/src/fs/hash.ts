import { closeSync, constants, fstatSync, readSync } from "node:fs";
import { openForReading } from "./openForReading.js";
import xxhash, { type XXHashAPI } from "xxhash-wasm";

let api: Promise<XXHashAPI> | undefined;

function load(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}

/** Streaming 64-bit xxHash of a byte sequence, rendered as 16 hex digits. */
export type ContentHasher = { update(bytes: Uint8Array): void; digest(): string };

/** Creates a streaming hasher. The WebAssembly module is loaded once per process. */
export async function createHasher(): Promise<ContentHasher> {
  const xxh = await load();
  const state = xxh.create64();
  return {
    update(bytes) {
      state.update(bytes);
    },
    digest() {
      return state.digest().toString(16).padStart(16, "0");
    },
  };
}

/** Hash of an in-memory byte sequence. */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  const h = await createHasher();
  h.update(bytes);
  return h.digest();
}

const READ_BYTES = 1024 * 1024;
/**
 * One read buffer for every hashFile in the process: the reads below are synchronous, so no two calls use it at
 * once, and a fresh megabyte per file would be dead memory outside the heap until the collector runs.
 */
let readBuffer: Buffer | undefined;

/** Streams a file through the hasher with a bounded buffer; memory does not grow with the file. */
export async function hashFile(absPath: string): Promise<{ hash: string; size: number }> {
  const hasher = await createHasher();
  // Synchronous reads: most files are small, and a thread-pool round trip per read costs more than the read.
  const fd = openForReading(absPath, constants.O_RDONLY);
  try {
    const statSize = fstatSync(fd).size;
    readBuffer ??= Buffer.allocUnsafe(READ_BYTES);
    const buffer = readBuffer.subarray(0, Math.max(1, Math.min(READ_BYTES, statSize + 1)));
    let size = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hasher.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: hasher.digest(), size };
  } finally {
    closeSync(fd);
  }
}

/** A 64-bit hash of one block of bytes, synchronous once loaded; used for delta transfer's block signatures. */
export type BlockHash = (bytes: Uint8Array) => bigint;

/** Loads the block hash (64-bit xxHash, the same function as content hashes). */
export async function loadBlockHash(): Promise<BlockHash> {
  const xxh = await load();
  return (bytes) => xxh.h64Raw(bytes);
}

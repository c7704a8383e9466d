import { closeSync, constants, fstatSync, readSync } from "node:fs";
import { BINARY_HEADER_BYTES, ErrorCode, FILE_CHUNK_BYTES, ProtocolError, writeBinaryHeader } from "@zync/protocol";
import { createHasher } from "../fs/hash.js";
import { openForReading } from "../fs/openForReading.js";
import { isMissing } from "../fs/localEntry.js";

/** What was read and sent. */
export type SentFile = { size: number; hash: string; mode: number; mtimeMs: number };

/**
 * Reads a regular file in chunks and hands each chunk to `send` as a binary data frame tagged with `id`
 * (the header is written in front of the data in the same buffer, so nothing is copied). Never follows a
 * symlink at the final name. Memory is one chunk at a time, whatever the file's size.
 */
export async function sendFileFrames(absPath: string, id: number, send: (frame: Uint8Array) => Promise<void>): Promise<SentFile> {
  let fd: number;
  try {
    fd = openForReading(absPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP") {
      throw new ProtocolError(ErrorCode.NotFound, "file no longer exists as a regular file");
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ProtocolError(ErrorCode.NotFound, "not a regular file");
    const hasher = await createHasher();
    // One byte more than the size lets a small file be read in one call and its end seen in the next.
    const chunk = Math.max(1, Math.min(FILE_CHUNK_BYTES, st.size + 1));
    let size = 0;
    for (;;) {
      const frame = Buffer.allocUnsafe(BINARY_HEADER_BYTES + chunk);
      // A synchronous read of one chunk: cheaper than a thread-pool round trip, and it bounds memory the same way.
      const bytesRead = readSync(fd, frame, BINARY_HEADER_BYTES, chunk, null);
      if (bytesRead === 0) break;
      writeBinaryHeader(frame, id);
      hasher.update(frame.subarray(BINARY_HEADER_BYTES, BINARY_HEADER_BYTES + bytesRead));
      size += bytesRead;
      await send(frame.subarray(0, BINARY_HEADER_BYTES + bytesRead));
    }
    return { size, hash: hasher.digest(), mode: st.mode & 0o777, mtimeMs: Math.trunc(st.mtimeMs) };
  } finally {
    closeSync(fd);
  }
}

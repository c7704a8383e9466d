import { closeSync, constants, fstatSync, readSync, type Stats } from "node:fs";
import { BINARY_HEADER_BYTES, ErrorCode, FILE_CHUNK_BYTES, ProtocolError, writeBinaryHeader } from "@zync/protocol";
import { createHasher } from "../fs/hash.js";
import { isUnreadable, openForReading } from "../fs/openForReading.js";
import { isMissing } from "../fs/statKey.js";

/** What was read and sent. */
export type SentFile = { size: number; hash: string; mode: number; mtimeMs: number };

/** True when two fstats of one descriptor say the file was written to (or truncated) in between. */
export function changedBetween(before: Pick<Stats, "size" | "mtimeMs" | "ctimeMs">, after: Pick<Stats, "size" | "mtimeMs" | "ctimeMs">): boolean {
  return before.size !== after.size || before.mtimeMs !== after.mtimeMs || before.ctimeMs !== after.ctimeMs;
}

/**
 * Reads a regular file in chunks and hands each chunk to `send` as a binary data frame tagged with `id`
 * (the header is written in front of the data in the same buffer, so nothing is copied). Never follows a
 * symlink at the final name, and never waits on a FIFO. Memory is one chunk at a time, whatever the file's size.
 *
 * Fails with NOT_FOUND when the path is gone or not a regular file, UNREADABLE when this user may not read it,
 * and CHANGED_WHILE_READING when an fstat after the last byte differs from the one before the first (size,
 * mtime or ctime), or fewer or more bytes came than the size said: the bytes sent are then no one version.
 */
export async function sendFileFrames(absPath: string, id: number, send: (frame: Uint8Array) => Promise<void>): Promise<SentFile> {
  const { fd, before } = openSentFile(absPath);
  try {
    const hasher = await createHasher();
    // One byte more than the size lets a small file be read in one call and its end seen in the next.
    const chunk = Math.max(1, Math.min(FILE_CHUNK_BYTES, before.size + 1));
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
    return sentAsOneVersion(fd, before, size, hasher.digest());
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a file to be sent: a regular file only, never through a symlink at the final name, never waiting on a
 * FIFO. Fails with NOT_FOUND or UNREADABLE as {@link sendFileFrames} describes; the caller closes `fd`.
 */
export function openSentFile(absPath: string): { fd: number; before: Stats } {
  let fd: number;
  try {
    fd = openForReading(absPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP") {
      throw new ProtocolError(ErrorCode.NotFound, "file no longer exists as a regular file");
    }
    if (isUnreadable(err)) throw new ProtocolError(ErrorCode.Unreadable, "the file cannot be read on E (permission denied)");
    throw err;
  }
  try {
    return { fd, before: fstatSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * What was sent of a file read to its end (`size` bytes hashing to `hash`), or CHANGED_WHILE_READING when an fstat
 * now differs from `before` or the size read is not the size it had: the bytes sent are then no one version.
 */
export function sentAsOneVersion(fd: number, before: Stats, size: number, hash: string): SentFile {
  const after = fstatSync(fd);
  if (size !== before.size || changedBetween(before, after)) {
    throw new ProtocolError(ErrorCode.ChangedWhileReading, "the file changed on E while it was being read; its newer state will be recorded");
  }
  return { size, hash, mode: before.mode & 0o777, mtimeMs: Math.trunc(before.mtimeMs) };
}

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { WebSocket } from "ws";
import { BINARY_HEADER_BYTES, ErrorCode, FILE_CHUNK_BYTES, ProtocolError, writeBinaryHeader, type FileEnd } from "@zync/protocol";
import { createHasher, isMissing } from "@zync/node";

/** Above this many queued bytes a sender waits for the socket to drain before sending more. */
export const HIGH_WATER_BYTES = 8 * 1024 * 1024;

/** Sends a frame, waiting first for the socket to drain when too much is already queued. */
export function sendWithBackpressure(ws: WebSocket, data: Uint8Array | string): Promise<void> {
  if (ws.bufferedAmount < HIGH_WATER_BYTES) {
    ws.send(data);
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => ws.send(data, (err) => (err ? reject(err) : resolve())));
}

/**
 * Streams a regular file as binary data frames tagged with `id`, never following a symlink at the final name, and
 * returns the FILE_END that describes exactly the bytes sent. Memory is one chunk per call, whatever the file size.
 */
export async function sendFile(ws: WebSocket, id: number, absPath: string): Promise<FileEnd> {
  let handle;
  try {
    handle = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (isMissing(err) || code === "ELOOP") throw new ProtocolError(ErrorCode.NotFound, "file no longer exists as a regular file");
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ProtocolError(ErrorCode.NotFound, "not a regular file");
    const hasher = await createHasher();
    const chunk = Math.max(1, Math.min(FILE_CHUNK_BYTES, st.size + 1));
    let size = 0;
    for (;;) {
      const frame = Buffer.allocUnsafe(BINARY_HEADER_BYTES + chunk);
      const { bytesRead } = await handle.read(frame, BINARY_HEADER_BYTES, chunk, null);
      if (bytesRead === 0) break;
      writeBinaryHeader(frame, id);
      hasher.update(frame.subarray(BINARY_HEADER_BYTES, BINARY_HEADER_BYTES + bytesRead));
      size += bytesRead;
      await sendWithBackpressure(ws, frame.subarray(0, BINARY_HEADER_BYTES + bytesRead));
    }
    return { type: "FILE_END", id, size, hash: hasher.digest(), mode: st.mode & 0o7777, mtimeMs: Math.trunc(st.mtimeMs) };
  } finally {
    await handle.close();
  }
}

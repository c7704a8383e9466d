import { closeSync, readSync } from "node:fs";
import { BINARY_HEADER_BYTES, BinaryFrameKind, DeltaOpWriter, FILE_CHUNK_BYTES, writeBinaryHeader, type BlockSignatures } from "@zync/protocol";
import { createHasher, loadBlockHash } from "../fs/hash.js";
import { PAUSE_BYTES, type SequentialReader } from "../delta/blockSignatures.js";
import { encodeDelta } from "../delta/deltaEncoder.js";
import { openSentFile, sentAsOneVersion, type SentFile } from "./fileFrames.js";

/** What a delta sent: the file as read (as for a whole file) and the bytes of op stream that carried it. */
export type SentDelta = SentFile & { streamBytes: number };

/**
 * Sends a file as a delta against R's base (feature "delta", docs/protocol.md section 14.6): reads it once, in
 * order, and hands the op stream to `send` in binary frames of kind DeltaOps tagged with `id`. The file is opened
 * and checked exactly as {@link sendFileFrames} does it (NOT_FOUND, UNREADABLE, CHANGED_WHILE_READING), and the
 * result names the file's size, hash, mode and mtime the same way.
 */
export async function sendDeltaFrames(absPath: string, id: number, base: BlockSignatures, send: (frame: Uint8Array) => Promise<void>): Promise<SentDelta> {
  const { fd, before } = openSentFile(absPath);
  try {
    const hasher = await createHasher();
    const strong = await loadBlockHash();
    let size = 0;
    const read: SequentialReader = (buffer, offset, length) => {
      const got = readSync(fd, buffer, offset, length, null);
      hasher.update(buffer.subarray(offset, offset + got));
      size += got;
      return got;
    };
    const writer = new DeltaOpWriter(BINARY_HEADER_BYTES, FILE_CHUNK_BYTES, (frame) => writeBinaryHeader(frame, id, BinaryFrameKind.DeltaOps), send);
    await writer.size(before.size);
    let paused = 0;
    for (const op of encodeDelta(base, read, strong)) {
      if (op.kind === "copy") await writer.copy(op.index, op.count);
      else await writer.literal(op.bytes);
      // Reading is synchronous: other connections get their turn every few MiB.
      if (size - paused >= PAUSE_BYTES) {
        paused = size;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await writer.flush();
    return { ...sentAsOneVersion(fd, before, size, hasher.digest()), streamBytes: writer.written };
  } finally {
    closeSync(fd);
  }
}

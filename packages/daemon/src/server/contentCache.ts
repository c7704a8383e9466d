import { BINARY_HEADER_BYTES, ErrorCode, FILE_CHUNK_BYTES, ProtocolError, writeBinaryHeader, type FileState } from "@zync/protocol";
import { isRacy, sameStatKey, sendFileFrames, statKeyAt, type SentFile, type StatKey } from "@zync/node";

/** A small file's content as read once, with what was read (size, hash, mode, mtime). */
export type HeldContent = { bytes: Buffer; sent: SentFile };

/** How many reads of E's disk served how many files (for the log, the bench and tests). */
export type ServeCounts = { served: number; reads: number };

type Entry = HeldContent & { key: StatKey; until: number };

/** How long content read while its file's stat key was racy may be served again. */
export const RACY_HOLD_MS = 5000;

/**
 * Default bounds: what the cache may hold in all, and the largest file it holds (one data frame: a request served
 * from the cache holds no more memory than a streamed one; larger files are streamed from the disk as before).
 */
export const CACHE_MAX_BYTES = 32 * 1024 * 1024;
export const CACHE_MAX_FILE_BYTES = 256 * 1024;

/**
 * Recently read file content, shared by every connection of the daemon, so a file asked for by many clients (an
 * initial sync of many R, or a live save pushed to all of them) is read and hashed once. Keyed by root and path;
 * an entry is used only while it holds the content the change log records for the path (the same hash) and the
 * file's stat key still matches the one taken around the read. Requests that arrive while a read is under way
 * share it. A file written so recently that its stat key is racy (it could change again within the timestamp
 * granularity without any fact moving) is held only for {@link RACY_HOLD_MS}: what it serves is still the content
 * the change log records, and if E changes the file meanwhile, the indexer records a new hash, which no entry
 * holds. Bounded in bytes, least recently used first out.
 */
export class ContentCache {
  readonly counts: ServeCounts = { served: 0, reads: 0 };
  private readonly entries = new Map<string, Entry>();
  private readonly reading = new Map<string, { hash: string; read: Promise<HeldContent | undefined> }>();
  private held = 0;
  private readonly maxBytes: number;
  readonly maxFileBytes: number;

  private readonly clock: () => number;

  /**
   * Called with every small file's content served with its recorded hash, and the root and path it was served for
   * (the daemon keeps it in its version store).
   */
  private readonly onServed: ((hash: string, bytes: Buffer, root: string, path: string) => void) | undefined;

  constructor(
    maxBytes = CACHE_MAX_BYTES,
    maxFileBytes = CACHE_MAX_FILE_BYTES,
    clock: () => number = Date.now,
    onServed?: (hash: string, bytes: Buffer, root: string, path: string) => void,
  ) {
    this.clock = clock;
    this.onServed = onServed;
    this.maxBytes = maxBytes;
    this.maxFileBytes = Math.min(maxFileBytes, maxBytes);
  }

  /**
   * The content of the file at `abs` (`root`/`path` in the change log, recorded with `hash`): from memory when an
   * entry still proves it, else read from disk (once for all who ask meanwhile). Fails as {@link sendFileFrames}
   * does (NOT_FOUND, UNREADABLE, CHANGED_WHILE_READING). The bytes returned carry their own hash, which may differ
   * from `hash` when E changed the file since it was recorded; only content with the recorded hash is kept.
   * Undefined when the file is now larger than this cache holds (the caller streams it instead).
   */
  async content(root: string, path: string, abs: string, hash: string): Promise<HeldContent | undefined> {
    const id = `${root}\0${path}`;
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      const now = statKeyAt(abs);
      if (entry.sent.hash === hash && entry.until > this.clock() && now !== undefined && sameStatKey(now, entry.key)) {
        // Most recently used last.
        this.entries.delete(id);
        this.entries.set(id, entry);
        return entry;
      }
      this.drop(id);
    }
    const inFlight = this.reading.get(id);
    if (inFlight !== undefined && inFlight.hash === hash) return inFlight.read;
    const read = this.read(abs).then((got) => {
      if (got === undefined) return undefined;
      if (got.key !== undefined && got.sent.hash === hash) {
        const until = isRacy(got.key) ? this.clock() + RACY_HOLD_MS : Number.POSITIVE_INFINITY;
        this.keep(id, { bytes: got.bytes, sent: got.sent, key: got.key, until });
      }
      return { bytes: got.bytes, sent: got.sent };
    });
    this.reading.set(id, { hash, read });
    const clear = (): void => {
      if (this.reading.get(id)?.read === read) this.reading.delete(id);
    };
    read.then(clear, clear);
    return read;
  }

  /**
   * Sends the file `root`/`path` at `abs`, recorded as `recorded`, as data frames tagged with `id`, and resolves with
   * what was sent: small files through this cache, larger ones streamed from the disk as they are read.
   */
  async send(root: string, path: string, abs: string, recorded: FileState, id: number, send: (frame: Uint8Array) => Promise<void>): Promise<SentFile> {
    this.counts.served++;
    if (recorded.size <= this.maxFileBytes) {
      const held = await this.content(root, path, abs, recorded.hash);
      if (held !== undefined) {
        if (held.sent.hash === recorded.hash) this.onServed?.(held.sent.hash, held.bytes, root, path);
        return sendHeldContent(held, id, send);
      }
    }
    this.counts.reads++;
    return sendFileFrames(abs, id, send);
  }

  /** Reads the whole file (the same checks as a streamed read), with its stat key when it stood still around the read. */
  private async read(abs: string): Promise<{ bytes: Buffer; sent: SentFile; key: StatKey | undefined } | undefined> {
    const before = statKeyAt(abs);
    if (before !== undefined && before.size > this.maxFileBytes) return undefined;
    this.counts.reads++;
    const parts: Buffer[] = [];
    let total = 0;
    const sent = await sendFileFrames(abs, 0, (frame) => {
      total += frame.byteLength - BINARY_HEADER_BYTES;
      // A file that grows while it is read is torn anyway; memory stays bounded by the largest file held.
      if (total > this.maxFileBytes) throw new ProtocolError(ErrorCode.ChangedWhileReading, "the file changed on E while it was being read; its newer state will be recorded");
      parts.push(Buffer.from(frame.subarray(BINARY_HEADER_BYTES)));
      return Promise.resolve();
    });
    const after = statKeyAt(abs);
    const key = before !== undefined && after !== undefined && sameStatKey(before, after) && after.size === sent.size ? after : undefined;
    return { bytes: Buffer.concat(parts), sent, key };
  }

  private keep(id: string, entry: Entry): void {
    if (entry.bytes.byteLength > this.maxFileBytes) return;
    this.drop(id);
    this.entries.set(id, entry);
    this.held += entry.bytes.byteLength;
    for (const [old] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.drop(old);
    }
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    this.held -= e.bytes.byteLength;
  }
}

/**
 * Sends held content as binary data frames tagged with `id` (each frame a fresh buffer: the held bytes are shared
 * by every connection and are never written to).
 */
export async function sendHeldContent(content: HeldContent, id: number, send: (frame: Uint8Array) => Promise<void>): Promise<SentFile> {
  const { bytes } = content;
  for (let off = 0; off < bytes.byteLength; off += FILE_CHUNK_BYTES) {
    const data = bytes.subarray(off, Math.min(bytes.byteLength, off + FILE_CHUNK_BYTES));
    const frame = Buffer.allocUnsafe(BINARY_HEADER_BYTES + data.byteLength);
    writeBinaryHeader(frame, id);
    data.copy(frame, BINARY_HEADER_BYTES);
    await send(frame);
  }
  return content.sent;
}

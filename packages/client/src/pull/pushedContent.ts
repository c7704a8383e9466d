/**
 * Feature "push" on R (docs/protocol.md section 14.6): holds what the daemon pushed (a page of one root's changes
 * and the content of its small files, as streams the daemon started) until the pull executor asks for it. The
 * executor takes pushed content through a ContentSource that serves a pushed file when its stream arrived whole and
 * its bytes hash to what the daemon announced and the change records, and fetches with GET_FILE otherwise (the
 * stream failed, was dropped for memory, or E changed the file since). Memory is bounded: a stream may hold at
 * most MAX_PUSHED_FILE_BYTES, and all streams together at most {@link MAX_HELD_PUSH_BYTES}; what does not fit is
 * dropped and fetched instead.
 */
import { FIRST_PUSH_STREAM_ID, MAX_PUSHED_FILE_BYTES, MAX_PUSH_CONTENT_BYTES, type ErrorMessage, type FileEnd, type Push } from "@zync/protocol";
import { createHasher } from "@zync/node";
import type { ContentSource, FetchedFile } from "./pullExecutor.js";

/** Pushed content R holds at most at once, over every push not yet applied. */
export const MAX_HELD_PUSH_BYTES = 4 * MAX_PUSH_CONTENT_BYTES;

type Outcome = { ok: true; end: FetchedFile; chunks: Buffer[] } | { ok: false };

type Stream = {
  root: string;
  path: string;
  chunks: Buffer[];
  bytes: number;
  /** False once the content is known to be unusable (too large, memory full, released): it is fetched instead. */
  usable: boolean;
  settled: Promise<Outcome>;
  settle: (o: Outcome) => void;
  /** True once FILE_END or ERROR arrived for it. */
  ended: boolean;
  /** True once its push was released: it is forgotten when it ends. */
  released: boolean;
};

/** A push as received: its page and the streams announced with it. */
export type ReceivedPush = { page: Push; streams: ReadonlyMap<string, number> };

/** Receives pushed pages and streams on one connection. */
export class PushedContent {
  private readonly streams = new Map<number, Stream>();
  private held = 0;
  private closed = false;

  /**
   * A PUSH arrived: its streams are opened. Returns why it breaks the protocol (a stream id already open or below
   * the daemon's range, or a stream for a path that is not a file change of the page), or the push as received.
   */
  page(page: Push): ReceivedPush | string {
    const files = new Set(page.changes.filter((c) => c.state.kind === "file").map((c) => c.path));
    const byPath = new Map<string, number>();
    for (const s of page.streams) {
      if (s.id < FIRST_PUSH_STREAM_ID || this.streams.has(s.id) || byPath.has(s.path)) return `a push reuses stream ${s.id} or names ${s.path} twice`;
      if (!files.has(s.path)) return `a push carries content for ${s.path}, which is not a file change of the push`;
      byPath.set(s.path, s.id);
    }
    for (const s of page.streams) {
      let settle: (o: Outcome) => void = () => undefined;
      const settled = new Promise<Outcome>((r) => (settle = r));
      this.streams.set(s.id, { root: page.root, path: s.path, chunks: [], bytes: 0, usable: !this.closed, settled, settle, ended: false, released: false });
    }
    return { page, streams: byPath };
  }

  /** A data frame of a pushed stream; false when no such stream is open (the daemon broke the protocol). */
  data(id: number, data: Uint8Array): boolean {
    const s = this.streams.get(id);
    if (s === undefined || s.ended) return false;
    if (!s.usable) return true;
    if (s.bytes + data.byteLength > MAX_PUSHED_FILE_BYTES || this.held + data.byteLength > MAX_HELD_PUSH_BYTES) {
      this.unusable(s);
      return true;
    }
    s.chunks.push(Buffer.from(data));
    s.bytes += data.byteLength;
    this.held += data.byteLength;
    return true;
  }

  /** FILE_END or ERROR of a pushed stream; false when no such stream is open. */
  end(id: number, msg: FileEnd | ErrorMessage): boolean {
    const s = this.streams.get(id);
    if (s === undefined || s.ended) return false;
    s.ended = true;
    if (s.released) this.streams.delete(id);
    if (msg.type === "ERROR" || !s.usable) {
      this.unusable(s);
      return true;
    }
    const { size, hash, mode, mtimeMs } = msg;
    void verified(s.chunks, size, hash).then((ok) => {
      if (ok && s.usable) s.settle({ ok: true, end: { size, hash, mode, mtimeMs }, chunks: s.chunks });
      else this.unusable(s);
    });
    return true;
  }

  /**
   * A content source for `push`: a file of the push is served from its stream once it has arrived whole and
   * verified, if it holds the content asked for, each at most once; everything else comes from `fallback`.
   */
  source(push: ReceivedPush, fallback: ContentSource): ContentSource {
    const offered = new Map(push.streams);
    return {
      fetch: async (path, hash, sink, base) => {
        const id = offered.get(path);
        offered.delete(path);
        const s = id === undefined ? undefined : this.streams.get(id);
        const got = s === undefined ? undefined : await s.settled;
        if (got === undefined || !got.ok || got.end.hash !== hash) return fallback.fetch(path, hash, sink, base);
        for (const chunk of got.chunks) await sink(chunk);
        return got.end;
      },
      classify: (err) => fallback.classify(err),
      ...(fallback.version === undefined ? {} : { version: fallback.version }),
    };
  }

  /** Drops what a push held once it was applied or set aside; its streams still arriving are dropped as they come. */
  release(push: ReceivedPush): void {
    for (const id of push.streams.values()) {
      const s = this.streams.get(id);
      if (s === undefined) continue;
      this.unusable(s);
      s.released = true;
      if (s.ended) this.streams.delete(id);
    }
  }

  /** The connection is gone: nothing more arrives, and every waiting fetch goes to its fallback (which fails). */
  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) this.unusable(s);
  }

  private unusable(s: Stream): void {
    s.usable = false;
    this.held -= s.bytes;
    s.bytes = 0;
    s.chunks = [];
    s.settle({ ok: false });
  }
}

/** True when the chunks are `size` bytes whose hash is `hash`. */
async function verified(chunks: readonly Buffer[], size: number, hash: string): Promise<boolean> {
  const hasher = await createHasher();
  let n = 0;
  for (const c of chunks) {
    hasher.update(c);
    n += c.byteLength;
  }
  return n === size && hasher.digest() === hash;
}

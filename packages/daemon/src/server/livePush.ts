import {
  ErrorCode,
  FIRST_PUSH_STREAM_ID,
  MAX_PUSH_CONTENT_BYTES,
  MAX_PUSHED_CHANGES,
  MAX_PUSHED_FILE_BYTES,
  ProtocolError,
  type Change,
  type FileState,
  type FromServerMessage,
  type GitBatch,
  type PushedStream,
} from "@zync/protocol";
import { SafeRoot, type Logger } from "@zync/node";
import type { ChangeLog } from "../store/changeLog.js";
import type { ContentCache } from "./contentCache.js";

/** What a push needs from its connection. */
export type PushDeps = {
  log: ChangeLog;
  roots: ReadonlyMap<string, SafeRoot>;
  content: ContentCache;
  /** Sends a text message; it is queued on the socket before this returns. */
  sendMessage(message: FromServerMessage): Promise<void>;
  /** Sends a binary frame, waiting while too much is queued for this client. */
  sendFrame(frame: Uint8Array): Promise<void>;
  /** Counts what was pushed (for the connection's history). */
  counted(changes: number, files: number, bytes: number): void;
  logger: Logger;
  /** Feature "git": the batches a page's changes belong to; none when absent. */
  batches?: (changes: readonly Change[]) => GitBatch[];
};

/** Which changes of a page get their content pushed: small files, in page order, within the push's total. */
export function pushedFiles(changes: readonly Change[]): Change[] {
  const out: Change[] = [];
  let total = 0;
  for (const c of changes) {
    if (c.state.kind !== "file" || c.state.size > MAX_PUSHED_FILE_BYTES) continue;
    if (total + c.state.size > MAX_PUSH_CONTENT_BYTES) continue;
    total += c.state.size;
    out.push(c);
  }
  return out;
}

/**
 * The daemon's side of feature "push" on one live connection (docs/protocol.md section 14.6). It remembers, per
 * root, the cursor the client holds: the `next` of the last complete page it was sent for that root (a CHANGES
 * answer with `more` false, or a push). When changes are recorded, each such root's changes after its cursor go to
 * the client as one PUSH, followed by the content of its small files as streams the daemon starts (ids with the
 * top bit set), each closed by FILE_END or ERROR exactly as an answer to GET_FILE. One push is sent at a time;
 * changes recorded meanwhile go in the next. What cannot be pushed (too many changes at once, or no root the client
 * has read yet) is announced with CHANGED as without the feature.
 */
export class LivePush {
  private readonly deps: PushDeps;
  private readonly cursors = new Map<string, number>();
  private nextStream = FIRST_PUSH_STREAM_ID;
  private sending = false;
  private again = false;
  private closed = false;
  /** The head when changes were last looked at: changes after it are new to this connection. */
  private seenHead: number;

  constructor(deps: PushDeps) {
    this.deps = deps;
    this.seenHead = deps.log.head();
  }

  /** A page the client was sent for `root`: a complete one (`more` false) moves the client's cursor to its `next`. */
  served(root: string | undefined, page: { next: number; more: boolean }): void {
    if (root === undefined || page.more) return;
    this.cursors.set(root, Math.max(this.cursors.get(root) ?? 0, page.next));
  }

  /** New changes were recorded: pushes what can be pushed, and announces the rest. */
  notify(): void {
    if (this.closed) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    const seen = this.seenHead;
    this.seenHead = this.deps.log.head();
    // A root whose cursor is not known (the client has not read it to the end on this connection, perhaps because
    // its pull failed) is announced as without the feature, so the client is never left waiting for its interval.
    let announce = [...this.deps.roots.keys()].some((root) => !this.cursors.has(root) && this.deps.log.changesSince(seen, 1, root).changes.length > 0);
    const sends: Promise<void>[] = [];
    for (const [root, since] of this.cursors) {
      const page = this.deps.log.changesSince(since, MAX_PUSHED_CHANGES, root);
      if (page.changes.length === 0) continue;
      if (page.more) {
        announce = true;
        continue;
      }
      sends.push(this.push(root, since, page.changes, page.next));
    }
    if (announce) void this.deps.sendMessage({ type: "CHANGED", head: this.deps.log.head() });
    if (sends.length === 0) return;
    this.sending = true;
    void Promise.all(sends).finally(() => {
      this.sending = false;
      if (this.again) {
        this.again = false;
        this.notify();
      }
    });
  }

  close(): void {
    this.closed = true;
  }

  /** Sends one root's page at once, then its files' content in order. */
  private async push(root: string, since: number, changes: Change[], next: number): Promise<void> {
    const files = pushedFiles(changes);
    const streams: PushedStream[] = files.map((c) => ({ id: this.allocate(), path: c.path }));
    this.cursors.set(root, next);
    const batches = this.deps.batches?.(changes) ?? [];
    void this.deps.sendMessage({ type: "PUSH", root, since, changes, next, streams, ...(batches.length > 0 ? { batches } : {}) });
    let bytes = 0;
    for (const [i, s] of streams.entries()) {
      if (this.closed) return;
      const state = files[i]!.state as FileState;
      try {
        const safe = this.deps.roots.get(root);
        if (safe === undefined) throw new ProtocolError(ErrorCode.UnknownRoot, `the daemon no longer serves ${root}`);
        // A fresh check of every folder on the way, as for GET_FILE.
        const abs = await new SafeRoot(safe.root).resolve(s.path);
        const sent = await this.deps.content.send(root, s.path, abs, state, s.id, (frame) => this.deps.sendFrame(frame));
        bytes += sent.size;
        await this.deps.sendMessage({ type: "FILE_END", id: s.id, ...sent });
      } catch (err) {
        await this.deps.sendMessage(this.failure(err, `${root}/${s.path}`).toWire(s.id));
      }
    }
    this.deps.counted(changes.length, streams.length, bytes);
  }

  /** What the client is told about a pushed file that could not be sent: as a GET_FILE would be answered. */
  private failure(err: unknown, where: string): ProtocolError {
    if (err instanceof ProtocolError) return new ProtocolError(err.code, `${where}: ${err.message}`);
    const errno = (err as NodeJS.ErrnoException | undefined)?.code;
    this.deps.logger.warn(`pushing ${where} failed: ${err instanceof Error ? err.message : String(err)}`);
    return new ProtocolError(ErrorCode.Internal, `the daemon could not push ${where}${errno ? ` (${errno})` : ""}; it can be fetched with GET_FILE`);
  }

  private allocate(): number {
    const id = this.nextStream;
    this.nextStream = id >= 0xffffffff ? FIRST_PUSH_STREAM_ID : id + 1;
    return id;
  }
}

import { closeSync, constants, readSync } from "node:fs";
import { BLOCK_LIMIT_BYTES, blockSizeFor, DELTA_FEATURE, ErrorCode, MAX_ACTIVE_DELTAS, MIN_DELTA_FILE_BYTES, ProtocolError, type FileEnd } from "@zync/protocol";
import { createHasher, DeltaApplier, loadBlockHash, openForReading, signBase, type SequentialReader } from "@zync/node";
import { ConnectionError, type DaemonConnection } from "./daemonConnection.js";
import type { LocalBase } from "./pull/pullExecutor.js";

/** R's base changed while a delta was applied against it: what was made is not E's file. Fetch it whole. */
export class BaseChangedError extends Error {
  override name = "BaseChangedError";
}

/** True when a file is worth fetching as a delta on this connection (and not too big for one). */
export function wantsDelta(conn: DaemonConnection, base: LocalBase | undefined): base is LocalBase {
  return base !== undefined && conn.features.has(DELTA_FEATURE) && base.size >= MIN_DELTA_FILE_BYTES && blockSizeFor(base.size) <= BLOCK_LIMIT_BYTES;
}

/** Deltas in progress per connection, and the ones waiting for a turn. */
const turns = new WeakMap<DaemonConnection, { active: number; waiting: (() => void)[] }>();

/** Runs `work` once fewer than MAX_ACTIVE_DELTAS deltas are in progress on `conn`. */
async function inTurn<T>(conn: DaemonConnection, work: () => Promise<T>): Promise<T> {
  let t = turns.get(conn);
  if (t === undefined) turns.set(conn, (t = { active: 0, waiting: [] }));
  const turn = t;
  while (turn.active >= MAX_ACTIVE_DELTAS) await new Promise<void>((resolve) => turn.waiting.push(resolve));
  turn.active++;
  try {
    return await work();
  } finally {
    turn.active--;
    turn.waiting.shift()?.();
  }
}

/**
 * Fetches a file as changes against R's base (feature "delta", docs/protocol.md section 14.6). The base is read
 * once for its signatures and checked against its recorded hash; a base that does not match (R edited it) is not
 * used, and the file is fetched whole. E's file is rebuilt into `sink` in order, COPY ops read from the base, and
 * the result must hash to what FILE_END says E sent: otherwise the base changed meanwhile (BaseChangedError).
 * A delta this client cannot apply fails the pass as a protocol failure. Memory: the signatures and a few blocks.
 */
export function fetchDelta(conn: DaemonConnection, root: string, path: string, hash: string, base: LocalBase, sink: (data: Uint8Array) => Promise<void>): Promise<FileEnd> {
  return inTurn(conn, () => deltaInTurn(conn, root, path, hash, base, sink));
}

async function deltaInTurn(conn: DaemonConnection, root: string, path: string, hash: string, base: LocalBase, sink: (data: Uint8Array) => Promise<void>): Promise<FileEnd> {
  let fd: number;
  try {
    fd = openForReading(base.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    // Gone or replaced since it was read: nothing to build on.
    return conn.getFile(root, path, hash, sink);
  }
  try {
    const read: SequentialReader = (buffer, offset, length) => readSync(fd, buffer, offset, length, null);
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const signed = await signBase(read, base.size, await loadBlockHash(), await createHasher(), pause);
    if (signed.hash !== base.hash || signed.size !== base.size) return await conn.getFile(root, path, hash, sink);
    const made = await createHasher();
    const applier = new DeltaApplier(signed.signatures, (offset, length) => readAt(fd, offset, length), (bytes) => {
      made.update(bytes);
      return sink(bytes);
    });
    let end: FileEnd;
    try {
      end = await conn.getDelta(root, path, hash, signed.signatures, (data) => applier.push(data));
      applier.end(end.size);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === ErrorCode.ContentMismatch) throw new BaseChangedError(`${root}/${path}: ${err.message}`);
      if (err instanceof ProtocolError) throw new ConnectionError("protocol", `${root}/${path}: ${err.message}`);
      throw err;
    }
    if (made.digest() !== end.hash) throw new BaseChangedError(`${root}/${path}: the file made from R's base does not have E's hash`);
    return end;
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `offset`, fewer only at the file's end. */
function readAt(fd: number, offset: number, length: number): Uint8Array {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const got = readSync(fd, buffer, filled, length - filled, offset + filled);
    if (got === 0) break;
    filled += got;
  }
  return buffer.subarray(0, filled);
}

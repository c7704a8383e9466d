import { blockLength, type BlockSignatures } from "@zync/protocol";
import type { BlockHash } from "../fs/hash.js";
import type { SequentialReader } from "./blockSignatures.js";
import { rollChecksum, weakChecksum } from "./rollingChecksum.js";

/** An op of a delta: copy `count` blocks of R's base from block `index`, or send bytes of E's file. */
export type DeltaOp = { kind: "copy"; index: number; count: number } | { kind: "literal"; bytes: Uint8Array };

/** Most blocks one COPY names: ops keep flowing through a long unchanged stretch, so the sender can pause. */
export const MAX_COPY_RUN = 1024;

/** Least bytes of E's file held at once (more when blocks are large: four blocks). */
const WINDOW_BYTES = 1024 * 1024;

/** The full-length blocks of a base by weak checksum: an open-addressed table of chains, two ints per block. */
class WeakIndex {
  private readonly slots: Int32Array;
  private readonly next: Int32Array;
  private readonly shift: number;

  constructor(sig: BlockSignatures) {
    const n = sig.weak.length;
    const bits = Math.max(4, Math.ceil(Math.log2(n * 2 + 1)));
    this.shift = 32 - bits;
    this.slots = new Int32Array(1 << bits).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    // Later blocks first, so a chain lists the earliest block with a checksum first.
    for (let i = n - 1; i >= 0; i--) {
      if (blockLength(sig, i) !== sig.blockSize) continue;
      const slot = this.slot(sig.weak[i]!);
      this.next[i] = this.slots[slot]!;
      this.slots[slot] = i;
    }
  }

  /** First block in the chain of `weak`'s slot, or -1 (blocks in it may have another checksum: compare). */
  first(weak: number): number {
    return this.slots[this.slot(weak)]!;
  }

  after(index: number): number {
    return this.next[index]!;
  }

  private slot(weak: number): number {
    return Math.imul(weak, 0x9e3779b1) >>> this.shift;
  }
}

/**
 * Encodes E's file (read once, in order, through `read`) as ops against a base R holds, given the base's block
 * signatures. Where the file still lines up with the base, each block costs one strong hash (the block after the
 * last one copied is tried first); elsewhere a window of one block rolls byte by byte until its weak checksum and
 * strong hash match a block of the base. Consecutive blocks are copied with one op (of at most MAX_COPY_RUN).
 *
 * A literal's bytes are a view into the reader's buffer, valid until the next op is asked for. Memory: the
 * signatures, their index and a window of max(1 MiB, four blocks), whatever the file's size.
 */
export function* encodeDelta(sig: BlockSignatures, read: SequentialReader, strong: BlockHash): Generator<DeltaOp, void, undefined> {
  const B = sig.blockSize;
  const n = sig.weak.length;
  const index = new WeakIndex(sig);
  const buf = new Uint8Array(Math.max(WINDOW_BYTES, 4 * B));
  let end = 0;
  let eof = false;
  let p = 0;
  let lit = 0;
  let copy: { index: number; count: number } | undefined;
  let weak = 0;
  let rolling = false;
  let expected = 0;

  /** Makes `want` bytes from `p` available, or as many as the file has. Moves the window when the buffer is full. */
  const fill = (want: number): void => {
    if (end - p >= want || eof) return;
    if (p + want > buf.length) {
      buf.copyWithin(0, p, end);
      end -= p;
      lit -= p;
      p = 0;
    }
    while (end - p < want) {
      const got = read(buf, end, buf.length - end);
      if (got === 0) {
        eof = true;
        return;
      }
      end += got;
    }
  };
  function* flushCopy(): Generator<DeltaOp> {
    if (copy === undefined) return;
    yield { kind: "copy", ...copy };
    copy = undefined;
  }
  function* flushLiteral(upTo: number): Generator<DeltaOp> {
    if (upTo <= lit) return;
    yield* flushCopy();
    yield { kind: "literal", bytes: buf.subarray(lit, upTo) };
    lit = upTo;
  }
  function* copyBlock(i: number, length: number): Generator<DeltaOp> {
    yield* flushLiteral(p);
    if (copy !== undefined && copy.index + copy.count === i && copy.count < MAX_COPY_RUN) copy.count++;
    else {
      yield* flushCopy();
      copy = { index: i, count: 1 };
    }
    p += length;
    lit = p;
    expected = i + 1;
    rolling = false;
  }
  const strongAt = (at: number, length: number): bigint => strong(buf.subarray(at, at + length));

  for (;;) {
    // A literal is sent before the window moves past it, so it never holds more than the buffer.
    if (end - p < B + 1 && !eof && p + B + 1 > buf.length) yield* flushLiteral(p);
    fill(B + 1);
    const avail = end - p;
    if (avail === 0) break;
    if (!rolling && expected < n) {
      const length = blockLength(sig, expected);
      if (avail >= length && strongAt(p, length) === sig.strong[expected]) {
        yield* copyBlock(expected, length);
        continue;
      }
    }
    if (avail < B) {
      // The last bytes of the file, shorter than a block: only the base's short last block can still match, at
      // the very end of the file.
      const last = n - 1;
      const length = last >= 0 ? blockLength(sig, last) : 0;
      if (length > 0 && length < B && avail >= length && strongAt(end - length, length) === sig.strong[last]) {
        p = end - length;
        yield* copyBlock(last, length);
        continue;
      }
      yield* flushLiteral(end);
      p = end;
      break;
    }
    if (!rolling) {
      weak = weakChecksum(buf, p, B);
      rolling = true;
    }
    let matched = -1;
    for (let i = index.first(weak); i >= 0; i = index.after(i)) {
      if (sig.weak[i] === weak && strongAt(p, B) === sig.strong[i]) {
        matched = i;
        break;
      }
    }
    if (matched >= 0) {
      yield* copyBlock(matched, B);
      continue;
    }
    if (avail > B) weak = rollChecksum(weak, buf[p]!, buf[p + B]!, B);
    else rolling = false;
    p++;
  }
  yield* flushCopy();
}

/**
 * Feature "delta" (docs/protocol.md section 14.6): the block signatures R sends of its base, and the rules both
 * sides use to size blocks. Pure byte layout; the checksums themselves are computed on each side.
 */
import type { Decoded } from "../codec.js";

/** The feature name offered in HELLO. */
export const DELTA_FEATURE = "delta";

/** Smallest block size a client picks (files under MIN_DELTA_FILE_BYTES are not worth a delta anyway). */
export const MIN_BLOCK_BYTES = 2048;

/** Largest block size a client picks for files up to MAX_DELTA_BLOCKS of them. */
export const MAX_BLOCK_BYTES = 128 * 1024;

/**
 * Largest block size the daemon accepts (for a base so big that MAX_DELTA_BLOCKS of MAX_BLOCK_BYTES do not cover
 * it); a base that would need larger blocks (over 512 GiB) is fetched whole.
 */
export const BLOCK_LIMIT_BYTES = 1024 * 1024;

/** GET_DELTA requests one connection may have in progress at once; one more is answered with BUSY. */
export const MAX_ACTIVE_DELTAS = 4;

/** Most blocks one signature frame may describe: keeps the frame under MAX_FRAME_BYTES, whatever the base's size. */
export const MAX_DELTA_BLOCKS = 512 * 1024;

/** Bytes of one block's signature: a 32-bit weak rolling checksum and a 64-bit strong hash, both big-endian. */
export const SIGNATURE_BYTES = 12;

/** Files smaller than this are fetched whole: a delta's round of signatures costs more than it saves. */
export const MIN_DELTA_FILE_BYTES = 64 * 1024;

/** Signatures of a base file cut into blocks of `blockSize` (the last one may be shorter). */
export type BlockSignatures = {
  blockSize: number;
  baseSize: number;
  /** Weak rolling checksum of each block. */
  weak: Uint32Array;
  /** Strong hash of each block. */
  strong: BigUint64Array;
};

/** The block size a client uses for a base of `baseSize` bytes: about its square root, within the limits. */
export function blockSizeFor(baseSize: number): number {
  const root = 1024 * Math.round(Math.sqrt(baseSize) / 1024);
  const clamped = Math.min(MAX_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, root));
  return Math.max(clamped, Math.ceil(baseSize / MAX_DELTA_BLOCKS));
}

/** How many blocks a base of `baseSize` bytes has. */
export function blockCount(baseSize: number, blockSize: number): number {
  return Math.ceil(baseSize / blockSize);
}

/** Length of block `index` of a base (the last block holds the rest). */
export function blockLength(sig: Pick<BlockSignatures, "blockSize" | "baseSize">, index: number): number {
  return Math.min(sig.blockSize, sig.baseSize - index * sig.blockSize);
}

/** Writes the signatures after `headerBytes` bytes left free for the frame header. */
export function encodeSignatures(sig: BlockSignatures, headerBytes: number): Uint8Array {
  const n = sig.weak.length;
  const out = new Uint8Array(headerBytes + n * SIGNATURE_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const at = headerBytes + i * SIGNATURE_BYTES;
    view.setUint32(at, sig.weak[i]!);
    view.setBigUint64(at + 4, sig.strong[i]!);
  }
  return out;
}

/**
 * Reads signatures for a base of `baseSize` bytes in blocks of `blockSize`, checking the announced geometry first.
 * Never throws.
 */
export function decodeSignatures(data: Uint8Array, blockSize: number, baseSize: number): Decoded<BlockSignatures> {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > BLOCK_LIMIT_BYTES) {
    return { ok: false, error: `block size ${blockSize} is outside 1..${BLOCK_LIMIT_BYTES}` };
  }
  if (!Number.isSafeInteger(baseSize) || baseSize < 0) return { ok: false, error: `base size ${baseSize} is not a size` };
  const n = blockCount(baseSize, blockSize);
  if (n > MAX_DELTA_BLOCKS) return { ok: false, error: `a base of ${baseSize} bytes in blocks of ${blockSize} has more than ${MAX_DELTA_BLOCKS} blocks` };
  if (data.byteLength !== n * SIGNATURE_BYTES) {
    return { ok: false, error: `signatures of ${n} blocks take ${n * SIGNATURE_BYTES} bytes, not ${data.byteLength}` };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const weak = new Uint32Array(n);
  const strong = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    weak[i] = view.getUint32(i * SIGNATURE_BYTES);
    strong[i] = view.getBigUint64(i * SIGNATURE_BYTES + 4);
  }
  return { ok: true, message: { blockSize, baseSize, weak, strong } };
}

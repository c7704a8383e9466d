/**
 * The weak checksum of delta transfer (docs/protocol.md section 14.6): two 16-bit sums over a window of bytes,
 * `a` = the sum of the bytes and `b` = the sum of each byte times its distance from the window's end, both
 * modulo 2^16; the checksum is `b << 16 | a`. Moving the window one byte costs two additions, whatever its length.
 */

/** Weak checksum of `bytes[start, start + length)`. */
export function weakChecksum(bytes: Uint8Array, start: number, length: number): number {
  let a = 0;
  let b = 0;
  for (let i = 0; i < length; i++) {
    const x = bytes[start + i]!;
    a += x;
    b += (length - i) * x;
  }
  return (((b & 0xffff) << 16) | (a & 0xffff)) >>> 0;
}

/** The checksum of a window of `length` bytes moved by one: `out` leaves at the front, `into` joins at the back. */
export function rollChecksum(weak: number, out: number, into: number, length: number): number {
  const a = ((weak & 0xffff) - out + into) & 0xffff;
  const b = ((weak >>> 16) - length * out + a) & 0xffff;
  return ((b << 16) | a) >>> 0;
}

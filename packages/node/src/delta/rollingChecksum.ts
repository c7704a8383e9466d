/**
 * The weak checksum of delta transfer (docs/protocol.md section 14.6): two 16-bit sums over a window of bytes,
 * `a` = the sum of the bytes and `b` = the sum of each byte times its distance from the window's end, both
 * modulo 2^16; the checksum is `b << 16 | a`. Moving the window one byte costs two additions, whatever its length.
 */

/** True where a Uint32Array reads its first byte as the low 8 bits. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Weak checksum of `bytes[start, start + length)`. Sums are kept modulo 2^32 (int32 wrap-around), which keeps them
 * right modulo 2^16. Where the bytes are 4-aligned, four are read at once: this runs over every byte of R's base.
 */
export function weakChecksum(bytes: Uint8Array, start: number, length: number): number {
  let a = 0;
  let b = 0;
  let i = start;
  const end = start + length;
  if (LITTLE_ENDIAN && ((bytes.byteOffset + start) & 3) === 0 && length >= 4) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + start, length >>> 2);
    for (let k = 0; k < words.length; k++) {
      const x = words[k]!;
      const x0 = x & 255;
      const x1 = (x >>> 8) & 255;
      const x2 = (x >>> 16) & 255;
      const x3 = x >>> 24;
      b = (b + 4 * a + 4 * x0 + 3 * x1 + 2 * x2 + x3) | 0;
      a = (a + x0 + x1 + x2 + x3) | 0;
    }
    i += words.length * 4;
  }
  for (; i < end; i++) {
    a = (a + bytes[i]!) | 0;
    b = (b + a) | 0;
  }
  return (((b & 0xffff) << 16) | (a & 0xffff)) >>> 0;
}

/** The checksum of a window of `length` bytes moved by one: `out` leaves at the front, `into` joins at the back. */
export function rollChecksum(weak: number, out: number, into: number, length: number): number {
  const a = ((weak & 0xffff) - out + into) & 0xffff;
  const b = ((weak >>> 16) - length * out + a) & 0xffff;
  return ((b << 16) | a) >>> 0;
}

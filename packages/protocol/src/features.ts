/**
 * Optional behaviours of version 3 and later, negotiated in the handshake (docs/protocol.md section 3.7): the
 * client offers the features it can use in HELLO, and the daemon answers in WELCOME with the ones both sides will
 * use on this connection. A feature not named in WELCOME must not be used by either side.
 */

/** A feature name: lowercase letters, digits and dashes, at most 32 characters. */
export const FEATURE_NAME = /^[a-z0-9-]{1,32}$/;

/** Largest number of features a HELLO may offer or a WELCOME may name. */
export const MAX_FEATURES = 32;

/** Every feature this build knows, in the order the daemon lists its choice. */
export const KNOWN_FEATURES: readonly string[] = [
  "delta",
  "push",
  "compress",
];

/**
 * The features a connection uses: those the client offered that the daemon also supports, in the daemon's order,
 * each once. Unknown names in the offer are ignored (a newer client may offer more).
 */
export function agreeFeatures(offered: readonly string[], supported: readonly string[]): string[] {
  const wanted = new Set(offered);
  return supported.filter((f, i) => wanted.has(f) && supported.indexOf(f) === i);
}

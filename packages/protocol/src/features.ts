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
  "explain",
  "versions",
  "git",
];

/**
 * The first protocol version in which a feature may be agreed; a feature not listed here exists since version 3.
 * A version-4 feature is never agreed on a version-3 connection, so an older peer never sees its messages.
 */
export const FEATURE_SINCE: Readonly<Record<string, number>> = {
  explain: 4,
  versions: 4,
  git: 4,
};

/**
 * The features a connection of `version` uses: those the client offered that the daemon also supports and that the
 * version allows, in the daemon's order, each once. Unknown names in the offer are ignored (a newer client may
 * offer more).
 */
export function agreeFeatures(
  offered: readonly string[],
  supported: readonly string[],
  version: number,
  since: Readonly<Record<string, number>> = FEATURE_SINCE,
): string[] {
  const wanted = new Set(offered);
  return supported.filter((f, i) => wanted.has(f) && supported.indexOf(f) === i && (since[f] ?? 3) <= version);
}

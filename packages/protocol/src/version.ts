/**
 * Protocol versions this build can speak, newest first. The handshake picks the newest both sides know. Version 1
 * is refused (its client sent the token in clear in the upgrade request), and so is version 2: version 3 added
 * negotiated features (docs/protocol.md section 3.7) and the frames they use, which a version-2 peer would misread.
 * Version 4 adds features that a version-3 connection cannot agree (FEATURE_SINCE in features.ts); a version-3
 * peer is still served, without them.
 */
export const SUPPORTED_PROTOCOL_VERSIONS = [4, 3] as const;

/** The protocol version this build prefers. */
export const PROTOCOL_VERSION = 4;

/** How long a connection may take from its opening to a verified proof, on either side, in milliseconds. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Largest JSON or binary frame either side accepts, in bytes. Chunks of file data are far smaller. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Size of the data chunks that carry file content. */
export const FILE_CHUNK_BYTES = 256 * 1024;

/** Largest page of changes the daemon returns for one GET_CHANGES. */
export const MAX_CHANGES_PER_PAGE = 5000;

/** Picks the newest version both sides support, or undefined when they share none. */
export function selectVersion(offered: readonly number[]): number | undefined {
  return SUPPORTED_PROTOCOL_VERSIONS.find((v) => offered.includes(v));
}

/**
 * Feature `compress` (docs/protocol.md section 14.6): when a sender compresses a frame. The receiver needs none of
 * this (any frame may arrive compressed or not); these are the sending side's rules, pure so they can be tested.
 */

/** How a side uses compression: `auto` on a link slower than the compressor, `always`, or `never` (not offered). */
export const COMPRESS_MODES = ["auto", "always", "never"] as const;
export type CompressMode = (typeof COMPRESS_MODES)[number];

/** The mode of both bins unless `--compress` says otherwise. */
export const DEFAULT_COMPRESS_MODE: CompressMode = "auto";

/** Frames shorter than this travel raw: the bytes saved would not pay for the work. */
export const COMPRESS_MIN_BYTES = 128;

/** Text frames at least this long (pages of changes) are compressed whenever the feature is on. */
export const COMPRESS_TEXT_ALWAYS_BYTES = 4096;

/**
 * In `auto` mode, a connection whose round trip (the shortest measured: the handshake, then a few pings) is at
 * least this long crosses a real network, whose rate (tens to hundreds of Mbit/s) is below the compressor's:
 * everything worth it is compressed. Loopback and a LAN answer in well under this, even on a loaded machine
 * (whose event loops answer pings late).
 */
export const COMPRESS_WAN_RTT_MS = 10;

/** A file's first chunk is tried when at least this long; a smaller file is compressed without a trial. */
export const COMPRESS_TRIAL_BYTES = 16 * 1024;

/** A trial that saves less than this fraction of the sample marks the file incompressible. */
export const COMPRESS_TRIAL_MIN_SAVING = 0.1;

/** What {@link shouldCompress} decides from. */
export type CompressInput = {
  mode: CompressMode;
  /** "text" for a text frame, "data" for a binary frame. */
  kind: "text" | "data";
  /** The frame's length in bytes (characters for text: close enough here). */
  bytes: number;
  /** True when the file this data belongs to is known not to compress (its format, or a failed trial). */
  incompressible: boolean;
  /** The shortest round trip measured on the connection, in milliseconds. */
  rttMs: number;
};

/**
 * True when a frame should be sent compressed. Compression only pays while the link is slower than the
 * compressor. A link with a round trip of {@link COMPRESS_WAN_RTT_MS} or more is taken to be such a link; on a
 * faster one frames go raw. (A send queue that fills is no sign of a slow link: on loopback the receiver's CPU
 * is what holds it back, and inflating would cost that CPU more.) Large text frames compress about tenfold and
 * cheaply, so they always are.
 */
export function shouldCompress(i: CompressInput): boolean {
  if (i.mode === "never" || i.incompressible || i.bytes < COMPRESS_MIN_BYTES) return false;
  if (i.mode === "always") return true;
  if (i.kind === "text" && i.bytes >= COMPRESS_TEXT_ALWAYS_BYTES) return true;
  return i.rttMs >= COMPRESS_WAN_RTT_MS;
}

/** File name endings of formats that are compressed already (or encrypted): their data travels raw. */
const COMPRESSED_ENDINGS = [
  ".gz", ".tgz", ".bz2", ".tbz2", ".xz", ".txz", ".zst", ".lz4", ".lz", ".lzma", ".br", ".zip", ".7z", ".rar", ".jar",
  ".war", ".apk", ".whl", ".egg", ".nupkg", ".deb", ".rpm", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic",
  ".mp3", ".mp4", ".m4a", ".m4v", ".mov", ".mkv", ".webm", ".ogg", ".opus", ".flac", ".aac", ".woff", ".woff2",
  ".pdf", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".gpg", ".age", ".parquet", ".npz", ".pt",
  ".safetensors", ".onnx", ".pack",
] as const;

/** True when a file's name says its content is compressed already. */
export function looksCompressed(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  const dot = name.lastIndexOf(".");
  return dot > 0 && (COMPRESSED_ENDINGS as readonly string[]).includes(name.slice(dot));
}

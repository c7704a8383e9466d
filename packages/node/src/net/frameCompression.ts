import { deflateRawSync } from "node:zlib";
import {
  BINARY_HEADER_BYTES,
  COMPRESS_TRIAL_BYTES,
  COMPRESS_TRIAL_MIN_SAVING,
  looksCompressed,
  shouldCompress,
  type CompressMode,
} from "@zync/protocol";

/**
 * The WebSocket permessage-deflate settings of feature `compress` (docs/protocol.md section 14.6), the same on both
 * ends: one deflate stream per direction for the whole connection (context takeover), so a small file is
 * compressed against the files before it; a 32 KiB window; level 3, which keeps up with tens of MB/s of text on
 * one core. Frames under 128 bytes are never compressed (the library's threshold). Memory per connection: one
 * deflate state (about 256 KiB) and one inflate state (about 44 KiB).
 */
export const PER_MESSAGE_DEFLATE = {
  zlibDeflateOptions: { level: 3, memLevel: 8 },
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 128,
  concurrencyLimit: 4,
} as const;

/** The parts of a WebSocket the compression choice reads (and pings, to time the link's round trip). */
export type CompressingSocket = {
  readonly extensions: string;
  ping(): void;
  on(event: "pong" | "close", listener: () => void): unknown;
};

/** WebSocket pings sent one after the other to time the round trip; the shortest answer counts. */
const RTT_PINGS = 4;

/** After those, one ping this often while the connection lasts. */
const RTT_PING_EVERY_MS = 1000;

/** True when permessage-deflate was agreed in the WebSocket upgrade of this socket. */
export function deflateNegotiated(ws: { readonly extensions: string }): boolean {
  return /(^|,)\s*permessage-deflate\b/.test(ws.extensions);
}

/** True when a sample of a file's data does not shrink enough at the cheapest level to be worth compressing. */
export function sampleIncompressible(sample: Uint8Array): boolean {
  const out = deflateRawSync(sample, { level: 1 });
  return out.byteLength > sample.byteLength * (1 - COMPRESS_TRIAL_MIN_SAVING);
}

/**
 * Decides, frame by frame, which frames one side sends compressed (see shouldCompress). Off unless the feature
 * was agreed on the connection.
 */
export class CompressionChoice {
  private readonly ws: CompressingSocket;
  private readonly mode: CompressMode;
  private on: boolean;
  private rttMs = Number.POSITIVE_INFINITY;
  private probing = false;

  constructor(ws: CompressingSocket, mode: CompressMode) {
    this.ws = ws;
    this.mode = mode;
    this.on = false;
  }

  /**
   * Turns compression on for this connection (the feature was agreed). `rttMs` is a round trip of the handshake,
   * an upper bound like every sample (a peer that is busy answers late): the shortest seen counts.
   */
  enable(rttMs: number): void {
    this.on = deflateNegotiated(this.ws);
    this.sample(rttMs);
    if (this.on) this.probe();
  }

  /** Counts one measured round trip. */
  sample(rttMs: number): void {
    this.rttMs = Math.min(this.rttMs, rttMs);
  }

  /**
   * Times round trips with WebSocket pings: a few one after the other, then one every {@link RTT_PING_EVERY_MS}
   * while the connection lasts, so that a late answer from a busy peer is outweighed by a prompt one later (a ping
   * carries nothing, so a daemon may send them before the handshake, while the client is idle). Once per
   * connection.
   */
  probe(): void {
    if (this.probing) return;
    this.probing = true;
    let sent = 0;
    let at = 0;
    let waiting = false;
    const ping = (): void => {
      if (waiting) return;
      sent++;
      waiting = true;
      at = performance.now();
      try {
        this.ws.ping();
      } catch {
        // The socket is closing; its close handler stops the timer.
      }
    };
    this.ws.on("pong", () => {
      waiting = false;
      this.sample(performance.now() - at);
      if (sent < RTT_PINGS) ping();
    });
    const timer = setInterval(ping, RTT_PING_EVERY_MS);
    timer.unref();
    this.ws.on("close", () => clearInterval(timer));
    ping();
  }

  /** The shortest round trip seen on this connection, in milliseconds. */
  get roundTripMs(): number {
    return this.rttMs;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Whether a text frame goes compressed. */
  text(frame: string): boolean {
    return this.on && shouldCompress({ mode: this.mode, kind: "text", bytes: frame.length, incompressible: false, rttMs: this.rttMs });
  }

  /**
   * A judge for the data frames of one file: a name that says the content is compressed already makes them all
   * raw; otherwise the first frame the link would compress is tried (a sample of its data at the cheapest level),
   * once, and a file that does not shrink goes raw from then on.
   */
  forFile(path: string): (frame: Uint8Array) => boolean {
    let incompressible = looksCompressed(path);
    let tried = false;
    return (frame) => {
      if (!this.on) return false;
      const input = { mode: this.mode, kind: "data" as const, bytes: frame.byteLength, incompressible, rttMs: this.rttMs };
      if (!shouldCompress(input)) return false;
      if (!tried && frame.byteLength >= BINARY_HEADER_BYTES + COMPRESS_TRIAL_BYTES) {
        tried = true;
        incompressible = sampleIncompressible(frame.subarray(BINARY_HEADER_BYTES, BINARY_HEADER_BYTES + COMPRESS_TRIAL_BYTES));
      }
      return !incompressible;
    };
  }
}

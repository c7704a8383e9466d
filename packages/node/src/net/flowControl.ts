/** The parts of a WebSocket that flow control needs (structural, so this package does not depend on ws). */
export type FlowSocket = {
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  send(data: Uint8Array | string, options: { compress?: boolean }, cb?: (err?: Error) => void): void;
  pause(): void;
  resume(): void;
};

/** Above this many queued outgoing bytes a sender waits for the socket to drain before sending more. */
export const SEND_HIGH_WATER_BYTES = 8 * 1024 * 1024;

/**
 * Sends a frame, waiting first for the socket to drain when too much is already queued. `compress` says whether
 * it goes compressed (feature `compress`); when not given, the socket's own default applies.
 */
export function sendWithBackpressure(ws: FlowSocket, data: Uint8Array | string, compress?: boolean): Promise<void> {
  const options = compress === undefined ? {} : { compress };
  if (ws.bufferedAmount < SEND_HIGH_WATER_BYTES) {
    ws.send(data, options);
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => ws.send(data, options, (err) => (err ? reject(err) : resolve())));
}

/**
 * Keeps received-but-unwritten bytes bounded: while more than `pauseBytes` wait for the disk, the socket stops
 * reading (TCP then slows the sender); below `resumeBytes` it reads again.
 */
export class InboundFlow {
  private unwritten = 0;
  private readonly ws: FlowSocket;
  private readonly pauseBytes: number;
  private readonly resumeBytes: number;

  constructor(ws: FlowSocket, pauseBytes = 16 * 1024 * 1024, resumeBytes = 4 * 1024 * 1024) {
    this.ws = ws;
    this.pauseBytes = pauseBytes;
    this.resumeBytes = resumeBytes;
  }

  /** Accounts for `size` bytes until `written` settles; returns `written` for chaining. */
  track<T>(size: number, written: Promise<T>): Promise<T> {
    this.unwritten += size;
    if (this.unwritten > this.pauseBytes && !this.ws.isPaused) this.ws.pause();
    const done = (): void => {
      this.unwritten -= size;
      if (this.unwritten < this.resumeBytes && this.ws.isPaused) this.ws.resume();
    };
    written.then(done, done);
    return written;
  }
}

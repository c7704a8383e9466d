// A model of a network link for the WAN bench: a TCP proxy on 127.0.0.1 with, in each direction, a bandwidth
// limit, a one-way delay and a bounded queue. The pacing decisions are pure functions of the model's state and
// the time; the proxy only feeds them chunks and delivers what they schedule.
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** One direction of the link. */
export type LinkDirection = {
  /** Bandwidth, bytes per millisecond (50 Mbit/s = 6,250). */
  bytesPerMs: number;
  /** One-way propagation delay, milliseconds. */
  delayMs: number;
  /** The queue in front of the serialiser holds at most this many bytes before the sender is paused. */
  queueBytes: number;
};

/** What the serialiser of one direction has committed to: it is busy until `freeAtMs`. */
export type PacerState = { freeAtMs: number };

/** When a chunk has been serialised onto the link (`departMs`) and when its last byte arrives (`arriveMs`). */
export type Slot = { departMs: number; arriveMs: number };

/**
 * A chunk of `bytes` enters the queue at `nowMs`. The serialiser takes it once it has sent everything queued
 * before it, spends `bytes / rate` on it, and the chunk arrives one propagation delay after its last byte left:
 * a store-and-forward link, like a router's output port.
 */
export function admit(state: PacerState, dir: LinkDirection, nowMs: number, bytes: number): { state: PacerState; slot: Slot } {
  const departMs = Math.max(nowMs, state.freeAtMs) + bytes / dir.bytesPerMs;
  return { state: { freeAtMs: departMs }, slot: { departMs, arriveMs: departMs + dir.delayMs } };
}

/** Bytes waiting for the serialiser at `nowMs` (admitted, not yet sent onto the link). */
export function backlogBytes(state: PacerState, dir: LinkDirection, nowMs: number): number {
  return Math.max(0, state.freeAtMs - nowMs) * dir.bytesPerMs;
}

/** Whether the queue holds more than its bound, so the sender must stop being read. */
export function queueFull(state: PacerState, dir: LinkDirection, nowMs: number): boolean {
  return backlogBytes(state, dir, nowMs) > dir.queueBytes;
}

/** The earliest time at which the queue is back within its bound (the sender may be read again). */
export function queueDrainsAtMs(state: PacerState, dir: LinkDirection): number {
  return state.freeAtMs - dir.queueBytes / dir.bytesPerMs;
}

/** Chunks are split into segments of at most this size, so that arrivals are spread like packets in bursts. */
export const SEGMENT_BYTES = 16 * 1024;

/** A rate such as `50mbit`, `500kbit`, `1gbit` or `8000000` (bits per second), in bits per second. */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|m|g)?(?:bit|bps|b)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`--rate ${JSON.stringify(text)} is not a rate such as 50mbit, 500kbit or 1gbit`);
  const scale = { k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? "").toLowerCase() as "k" | "m" | "g"] ?? 1;
  const bits = Number(m[1]) * scale;
  if (!(bits >= 1000)) throw new Error(`--rate ${text} is below 1 kbit/s`);
  return bits;
}

/** The link as the bench states it: a rate, a round trip split evenly between the directions, a queue. */
export type LinkSpec = {
  /** Bits per second, the same in both directions. */
  rateBitsPerSec: number;
  /** Round-trip time in milliseconds; each direction delays by half of it. */
  rttMs: number;
  /** Bound of each direction's queue in bytes; default one bandwidth-delay product (rate × RTT), at least 64 KiB. */
  queueBytes?: number;
};

/** The per-direction parameters of a link spec. */
export function directionOf(spec: LinkSpec): LinkDirection {
  const bytesPerMs = spec.rateBitsPerSec / 8 / 1000;
  return { bytesPerMs, delayMs: spec.rttMs / 2, queueBytes: spec.queueBytes ?? Math.max(64 * 1024, Math.round(bytesPerMs * spec.rttMs)) };
}

/** Bytes one direction carried, and what its queue went through. */
export type DirectionCount = {
  bytes: number;
  /** The largest backlog the queue held after admitting a chunk (at most the bound plus one read). */
  maxBacklogBytes: number;
  /** How many times the sender was paused because the queue was full or the receiver was not draining. */
  pauses: number;
};

/** Counts of one connection; `e2r` is from the connecting side (E, the ssh client) to the target (R's sshd). */
export type ConnectionCount = { id: number; openedMs: number; closedMs?: number; e2r: DirectionCount; r2e: DirectionCount };

/** What a proxy has carried: every connection, and totals per direction. */
export type LinkCounters = { connections: ConnectionCount[]; e2rBytes: number; r2eBytes: number };

/** One admitted segment, kept when tracing is on: when it entered, its size and the slot it was given. */
export type TraceEntry = { enterMs: number; bytes: number } & Slot;

export type LinkProxy = {
  port: number;
  direction: LinkDirection;
  counters(): LinkCounters;
  /** The admitted segments per connection and direction, when started with `trace: true`. */
  trace(): { id: number; e2r: TraceEntry[]; r2e: TraceEntry[] }[];
  stop(): Promise<void>;
};

export type LinkProxyOptions = LinkSpec & {
  targetPort: number;
  targetHost?: string;
  /** Milliseconds on a monotonic clock; injected for tests. */
  now?: () => number;
  trace?: boolean;
};

const newCount = (): DirectionCount => ({ bytes: 0, maxBacklogBytes: 0, pauses: 0 });

/**
 * Carries one direction from `from` to `to` through the model: each segment is admitted when read, delivered at
 * its arrival time, and `from` is paused while the queue is over its bound or `to` is not draining, so a slow
 * link or a slow receiver pushes back on the sender through TCP.
 */
function shape(from: Socket, to: Socket, dir: LinkDirection, now: () => number, count: DirectionCount, trace: TraceEntry[] | undefined): void {
  let state: PacerState = { freeAtMs: 0 };
  const inFlight: { arriveMs: number; buf: Buffer }[] = [];
  let deliverTimer: NodeJS.Timeout | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  let paused = false;
  let ended = false;

  const maybeResume = (): void => {
    if (!paused || to.destroyed) return;
    const t = now();
    if (to.writableNeedDrain) return;
    if (queueFull(state, dir, t)) {
      clearTimeout(resumeTimer);
      resumeTimer = setTimeout(maybeResume, Math.max(1, queueDrainsAtMs(state, dir) - t));
      return;
    }
    paused = false;
    from.resume();
  };
  const pause = (): void => {
    if (paused) return;
    paused = true;
    count.pauses++;
    from.pause();
  };
  const deliver = (): void => {
    deliverTimer = undefined;
    const t = now();
    while (inFlight.length > 0 && inFlight[0]!.arriveMs <= t) {
      if (!to.destroyed) to.write(inFlight.shift()!.buf);
      else inFlight.shift();
    }
    if (inFlight.length > 0) deliverTimer = setTimeout(deliver, Math.max(1, inFlight[0]!.arriveMs - t));
    else if (ended && !to.destroyed) to.end();
    if (to.writableNeedDrain) pause();
  };
  to.on("drain", maybeResume);
  from.on("data", (chunk: Buffer) => {
    const t = now();
    count.bytes += chunk.length;
    for (let off = 0; off < chunk.length; off += SEGMENT_BYTES) {
      const buf = chunk.subarray(off, off + SEGMENT_BYTES);
      const next = admit(state, dir, t, buf.length);
      state = next.state;
      inFlight.push({ arriveMs: next.slot.arriveMs, buf });
      trace?.push({ enterMs: t, bytes: buf.length, ...next.slot });
    }
    count.maxBacklogBytes = Math.max(count.maxBacklogBytes, backlogBytes(state, dir, t));
    if (queueFull(state, dir, t)) {
      pause();
      maybeResume();
    }
    deliverTimer ??= setTimeout(deliver, Math.max(1, inFlight[0]!.arriveMs - t));
  });
  from.on("end", () => {
    ended = true;
    if (inFlight.length === 0 && deliverTimer === undefined && !to.destroyed) to.end();
  });
  const stop = (): void => {
    clearTimeout(deliverTimer);
    clearTimeout(resumeTimer);
  };
  from.on("close", () => clearTimeout(resumeTimer));
  to.on("close", stop);
}

/** Starts the proxy on a free port of 127.0.0.1; every connection to it is carried to the target through the model. */
export async function startLinkProxy(opts: LinkProxyOptions): Promise<LinkProxy> {
  const dir = directionOf(opts);
  const now = opts.now ?? (() => performance.now());
  const connections: ConnectionCount[] = [];
  const traces: { id: number; e2r: TraceEntry[]; r2e: TraceEntry[] }[] = [];
  const sockets = new Set<Socket>();
  // Half-open sockets: each direction ends on its own, once what it still carries has been delivered.
  const server: Server = createServer({ allowHalfOpen: true }, (e) => {
    const id = connections.length + 1;
    const c: ConnectionCount = { id, openedMs: now(), e2r: newCount(), r2e: newCount() };
    connections.push(c);
    const tr = opts.trace ? { id, e2r: [], r2e: [] } : undefined;
    if (tr) traces.push(tr);
    e.pause();
    const r = createConnection({ host: opts.targetHost ?? "127.0.0.1", port: opts.targetPort, allowHalfOpen: true });
    for (const s of [e, r]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("error", () => {
        e.destroy();
        r.destroy();
      });
      s.on("close", () => {
        sockets.delete(s);
        c.closedMs ??= now();
      });
    }
    r.once("connect", () => {
      shape(e, r, dir, now, c.e2r, tr?.e2r);
      shape(r, e, dir, now, c.r2e, tr?.r2e);
      e.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    port,
    direction: dir,
    counters: () => ({
      connections: connections.map((c) => ({ ...c, e2r: { ...c.e2r }, r2e: { ...c.r2e } })),
      e2rBytes: connections.reduce((n, c) => n + c.e2r.bytes, 0),
      r2eBytes: connections.reduce((n, c) => n + c.r2e.bytes, 0),
    }),
    trace: () => traces,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { describe, expect, test } from "@jest/globals";
import { createConnection, createServer, type Socket } from "node:net";
import { startLinkProxy, type TraceEntry } from "../helpers/linkModel.js";
import { seededRandom } from "../helpers/seededRandom.js";
import { waitFor } from "../helpers/waitFor.js";

const MB = 1024 * 1024;

function randomBuffer(n: number, seed: number): Buffer {
  const rand = seededRandom(seed);
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = Math.floor(rand() * 256);
  return buf;
}

/** Checks a direction's schedule: each segment leaves at the rate behind the one before it, and arrives one delay later. */
function expectPaced(trace: TraceEntry[], bytesPerMs: number, delayMs: number): void {
  let freeAt = 0;
  for (const seg of trace) {
    const depart = Math.max(seg.enterMs, freeAt) + seg.bytes / bytesPerMs;
    expect(seg.departMs).toBeCloseTo(depart, 6);
    expect(seg.arriveMs).toBeCloseTo(seg.departMs + delayMs, 6);
    freeAt = seg.departMs;
  }
}

describe("the bench's link model, as a TCP proxy", () => {
  test("1 MB through a 16 Mbit/s link arrives intact, paced at the rate with the delay, counted per direction, with the sender held back by a bounded queue", async () => {
    const payload = randomBuffer(MB, 5);
    const reply = randomBuffer(3000, 6);
    let received = Buffer.alloc(0);
    let lastByteAtMs = 0;
    const server = createServer((sock: Socket) => {
      const parts: Buffer[] = [];
      sock.on("data", (d: Buffer) => {
        parts.push(d);
        lastByteAtMs = performance.now();
      });
      sock.on("end", () => {
        received = Buffer.concat(parts);
        sock.end(reply);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const addr = server.address();
    const targetPort = typeof addr === "object" && addr ? addr.port : 0;
    const link = await startLinkProxy({ targetPort, rateBitsPerSec: 16e6, rttMs: 30, queueBytes: 64 * 1024, trace: true });
    try {
      const answer: Buffer[] = [];
      const client = createConnection({ host: "127.0.0.1", port: link.port });
      client.on("data", (d: Buffer) => answer.push(d));
      const closed = new Promise((r) => client.once("close", r));
      client.end(payload);
      await closed;
      await waitFor(() => received.length > 0, "the server to see the end of the upload");

      expect(received.equals(payload)).toBe(true);
      expect(Buffer.concat(answer).equals(reply)).toBe(true);
      const counts = link.counters();
      expect(counts.connections).toHaveLength(1);
      expect({ e2r: counts.e2rBytes, r2e: counts.r2eBytes }).toEqual({ e2r: MB, r2e: 3000 });

      const dir = link.direction;
      expect(dir).toEqual({ bytesPerMs: 2000, delayMs: 15, queueBytes: 65536 });
      const [trace] = link.trace();
      expect(trace!.e2r.reduce((n, s) => n + s.bytes, 0)).toBe(MB);
      expectPaced(trace!.e2r, dir.bytesPerMs, dir.delayMs);
      expectPaced(trace!.r2e, dir.bytesPerMs, dir.delayMs);
      // The whole upload took at least its serialisation time on the link, and nothing arrived before its slot.
      const first = trace!.e2r[0]!;
      const last = trace!.e2r.at(-1)!;
      expect(last.departMs - first.enterMs).toBeGreaterThanOrEqual(MB / dir.bytesPerMs - 1e-6);
      expect(lastByteAtMs).toBeGreaterThanOrEqual(last.arriveMs);
      // The queue filled, the sender was paused, and the backlog never grew past the bound by more than one read.
      const up = counts.connections[0]!.e2r;
      expect(up.pauses).toBeGreaterThan(0);
      expect(up.maxBacklogBytes).toBeGreaterThan(dir.queueBytes);
      expect(up.maxBacklogBytes).toBeLessThanOrEqual(dir.queueBytes + 64 * 1024);
    } finally {
      await link.stop();
      await new Promise((r) => server.close(r));
    }
  });
});

import { describe, expect, test } from "@jest/globals";
import { admit, backlogBytes, directionOf, parseRate, queueDrainsAtMs, queueFull, type LinkDirection, type PacerState } from "../../helpers/linkModel.js";

// 8 Mbit/s = 1,000 bytes per ms; 20 ms each way; a queue of 4,000 bytes.
const DIR: LinkDirection = { bytesPerMs: 1000, delayMs: 20, queueBytes: 4000 };

describe("the link model's pacing", () => {
  test.each([
    // [serialiser free at, chunk enters at, bytes, departs at, arrives at]
    ["an idle link sends at once and delivers one delay later", 0, 100, 1000, 101, 121],
    ["an idle link that was busy long ago starts at the chunk's time", 50, 100, 2000, 102, 122],
    ["a busy link queues the chunk behind what it is sending", 150, 100, 1000, 151, 171],
    ["an empty chunk departs as soon as the serialiser is free", 150, 100, 0, 150, 170],
  ])("%s", (_name, freeAtMs, nowMs, bytes, departMs, arriveMs) => {
    const { state, slot } = admit({ freeAtMs }, DIR, nowMs, bytes);
    expect(slot).toEqual({ departMs, arriveMs });
    expect(state).toEqual({ freeAtMs: departMs });
  });

  test("back-to-back chunks leave at the link's rate, however fast they enter", () => {
    let state: PacerState = { freeAtMs: 0 };
    const departs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const next = admit(state, DIR, 0, 500);
      state = next.state;
      departs.push(next.slot.departMs);
    }
    expect(departs).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
  });

  test.each([
    // [serialiser free at, now, backlog, full?]
    [0, 10, 0, false],
    [10, 10, 0, false],
    [14, 10, 4000, false],
    [14.5, 10, 4500, true],
    [30, 20, 10000, true],
  ])("free at %p, at %p ms the queue holds %p bytes (full: %p)", (freeAtMs, nowMs, bytes, full) => {
    expect(backlogBytes({ freeAtMs }, DIR, nowMs)).toBe(bytes);
    expect(queueFull({ freeAtMs }, DIR, nowMs)).toBe(full);
  });

  test("a full queue is within its bound again at the time it says", () => {
    const state = { freeAtMs: 30 };
    const at = queueDrainsAtMs(state, DIR);
    expect(at).toBe(26);
    expect(queueFull(state, DIR, at)).toBe(false);
    expect(queueFull(state, DIR, at - 0.01)).toBe(true);
  });
});

describe("link parameters", () => {
  test.each([
    ["50mbit", 50e6],
    ["50Mbit/s", 50e6],
    ["500kbit", 500e3],
    ["1gbit", 1e9],
    ["2.5mbps", 2.5e6],
    ["8000000", 8e6],
  ])("%s is %p bits per second", (text, bits) => {
    expect(parseRate(text)).toBe(bits);
  });

  test.each(["", "fast", "50 mbytes", "-5mbit", "10"])("%p is refused with a sentence", (text) => {
    expect(() => parseRate(text)).toThrow(/--rate/);
  });

  test("the defaults split the round trip evenly and queue one bandwidth-delay product", () => {
    expect(directionOf({ rateBitsPerSec: 50e6, rttMs: 40 })).toEqual({ bytesPerMs: 6250, delayMs: 20, queueBytes: 250_000 });
    // A small product still queues 64 KiB, so that one read of a socket fits.
    expect(directionOf({ rateBitsPerSec: 1e6, rttMs: 10 }).queueBytes).toBe(65536);
    expect(directionOf({ rateBitsPerSec: 1e6, rttMs: 10, queueBytes: 1000 }).queueBytes).toBe(1000);
  });
});

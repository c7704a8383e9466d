import { describe, expect, test } from "@jest/globals";
import { FETCH_WINDOW, inOrderWindow } from "@zync/client";

/** Runs a window over items of the given sizes; each run waits until released. Reports how many ran at most. */
function harness(sizes: number[], limit: { count: number; bytes: number }) {
  const release: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  let peakBytes = 0;
  let bytes = 0;
  const results = inOrderWindow(sizes, limit, (s) => s, (s) => {
    running++;
    bytes += s;
    peak = Math.max(peak, running);
    peakBytes = Math.max(peakBytes, bytes);
    return new Promise<number>((resolve) =>
      release.push(() => {
        running--;
        bytes -= s;
        resolve(s);
      }),
    );
  });
  return { results, release, stats: () => ({ running, peak, peakBytes }) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("the fetch window", () => {
  test("small files fill the window up to its count", async () => {
    const h = harness(Array.from({ length: 100 }, () => 4096), { count: 40, bytes: 1 << 30 });
    await tick();
    expect(h.stats().running).toBe(40);
    while (h.release.length > 0) {
      h.release.shift()!();
      await tick();
    }
    expect(await Promise.all(h.results)).toHaveLength(100);
    expect(h.stats().peak).toBe(40);
  });

  test("large files are held to the byte budget, and one larger than the budget runs alone", async () => {
    const h = harness([40, 40, 40, 200, 10, 10], { count: 100, bytes: 100 });
    await tick();
    expect(h.stats().running).toBe(2);
    h.release.shift()!();
    h.release.shift()!();
    await tick();
    // The third (40) runs; the 200 waits until it is alone.
    expect(h.stats().running).toBe(1);
    h.release.shift()!();
    await tick();
    expect(h.stats().running).toBe(1);
    expect(h.stats().peakBytes).toBe(200);
    h.release.shift()!();
    await tick();
    expect(h.stats().running).toBe(2);
    while (h.release.length > 0) {
      h.release.shift()!();
      await tick();
    }
    expect(await Promise.all(h.results)).toEqual([40, 40, 40, 200, 10, 10]);
  });

  test("the window covers a WAN's bandwidth-delay product in files of a few KiB and in bytes", () => {
    // 50 Mbit/s at 40 ms is 250 KB; 4 KiB files need 62 in flight.
    expect(FETCH_WINDOW.count * 4096).toBeGreaterThan(50e6 / 8 * 0.04 * 4);
    expect(FETCH_WINDOW.bytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  });
});

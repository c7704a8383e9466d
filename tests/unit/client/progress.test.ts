import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import { Writable } from "node:stream";
import { formatEta, progressText, startTransferProgress, type TransferCounters } from "@zync/client";

const MiB = 1024 * 1024;

describe("the progress text", () => {
  test.each([
    // files, planned files, bytes, planned bytes, elapsed ms → ratio, files, bytes, rate, eta
    [0, 10, 0, 10 * MiB, 1000, 0, "0/10 files", "0 B of 10.0 MiB", "0 B/s", "?"],
    [5, 10, 5 * MiB, 10 * MiB, 1000, 0.5, "5/10 files", "5.0 MiB of 10.0 MiB", "5.0 MiB/s", "1s"],
    [1, 10, 1 * MiB, 301 * MiB, 2000, 1 / 301, "1/10 files", "1.0 MiB of 301.0 MiB", "512.0 KiB/s", "10m00s"],
    [10, 10, 10 * MiB, 10 * MiB, 4000, 1, "10/10 files", "10.0 MiB of 10.0 MiB", "2.5 MiB/s", "0s"],
    // Only empty files: measured by files, the time left by the pace of files.
    [2, 8, 0, 0, 1000, 0.25, "2/8 files", "0 B", "0 B/s", "3s"],
    // The plan can lag what was done (pages still arriving): never more done than planned.
    [12, 10, 3 * MiB, 2 * MiB, 1000, 1, "12/12 files", "3.0 MiB of 3.0 MiB", "3.0 MiB/s", "0s"],
  ])("%d/%d files and %d/%d bytes after %d ms", (files, plannedFiles, bytes, plannedBytes, elapsed, ratio, f, b, rate, eta) => {
    const t = progressText({ files, plannedFiles, bytes, plannedBytes }, elapsed);
    expect(t.ratio).toBeCloseTo(ratio, 6);
    expect([t.files, t.bytes, t.rate, t.eta]).toEqual([f, b, rate, eta]);
  });

  test.each([
    [0, "0s"],
    [59.2, "1m00s"],
    [61, "1m01s"],
    [3599, "59m59s"],
    [7800, "2h10m"],
    [Number.NaN, "?"],
    [Number.POSITIVE_INFINITY, "?"],
  ])("an ETA of %d s reads %s", (secs, text) => {
    expect(formatEta(secs)).toBe(text);
  });
});

/** A stream that records what is written, posing as a terminal or not. */
function capture(tty: boolean): { stream: NodeJS.WriteStream; text(): string } {
  let out = "";
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  Object.assign(w, { isTTY: tty, columns: 120 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

describe("the progress display", () => {
  let clock = 0;
  const now = (): number => clock;
  const advance = (ms: number): void => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };
  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test("without a terminal: a plain line every ten seconds, no escape codes", () => {
    const c: TransferCounters = { files: 3, plannedFiles: 10, bytes: 30 * MiB, plannedBytes: 100 * MiB };
    const { stream, text } = capture(false);
    const p = startTransferProgress(() => c, "pulling", stream, now);
    advance(9_999);
    expect(text()).toBe("");
    advance(1);
    expect(text()).toBe("pulling: 3/10 files, 30.0 MiB of 100.0 MiB, 3.0 MiB/s, about 24s left\n");
    p.stop();
    expect(text()).not.toMatch(/[\x1b\r]/);
  });

  test("on a terminal a small transfer that ends quickly draws nothing", () => {
    const c: TransferCounters = { files: 0, plannedFiles: 5, bytes: 0, plannedBytes: 50 * 1024 };
    const { stream, text } = capture(true);
    const p = startTransferProgress(() => c, "pulling", stream, now);
    advance(400);
    c.files = 5;
    c.bytes = 50 * 1024;
    p.stop();
    expect(text()).toBe("");
  });

  test("on a terminal a small transfer that lasts draws the bar after half a second and leaves its final state", () => {
    const c: TransferCounters = { files: 1, plannedFiles: 4, bytes: 1 * MiB, plannedBytes: 4 * MiB };
    const { stream, text } = capture(true);
    const p = startTransferProgress(() => c, "pushing", stream, now);
    advance(400);
    expect(text()).toBe("");
    advance(200);
    expect(text()).toContain("pushing ██████░░░░░░░░░░░░░░░░░░  25% | 1/4 files | 1.0 MiB of 4.0 MiB | 1.7 MiB/s | ETA 2s");
    clock += 1400;
    c.files = 4;
    c.bytes = 4 * MiB;
    p.stop();
    expect(text()).toContain("pushing ████████████████████████ 100% | 4/4 files | 4.0 MiB of 4.0 MiB | 2.0 MiB/s | ETA 0s");
    expect(text().endsWith("\n")).toBe(true);
  });

  test("on a terminal a transfer planned large draws its bar even if it ends before the first redraw", () => {
    const c: TransferCounters = { files: 0, plannedFiles: 500, bytes: 0, plannedBytes: 20 * MiB };
    const { stream, text } = capture(true);
    const p = startTransferProgress(() => c, "pulling", stream, now);
    clock += 100;
    c.files = 500;
    c.bytes = 20 * MiB;
    p.stop();
    expect(text()).toContain("pulling ████████████████████████ 100% | 500/500 files | 20.0 MiB of 20.0 MiB | 200.0 MiB/s | ETA 0s");
  });
});

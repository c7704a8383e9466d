import { readFileSync } from "node:fs";

/** Resident memory of a process from /proc/<pid>/status, in bytes: now (VmRSS) and its peak so far (VmHWM). */
export type MemoryReading = { rss: number; hwm: number };

/** Reads /proc/<pid>/status; undefined once the process is gone (or before it has an address space). */
export function readMemory(pid: number): MemoryReading | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb("VmRSS");
  const hwm = kb("VmHWM");
  return rss === undefined || hwm === undefined ? undefined : { rss, hwm };
}

/** What a memory sampler saw: how many readings, and the largest VmRSS and VmHWM among them. */
export type MemoryPeak = { samples: number; maxRss: number; maxHwm: number };

/**
 * Samples a process's memory every `intervalMs` until `stop()` is called (or the process is gone). VmHWM is the
 * kernel's own high-water mark, so a peak between two samples is still seen by the next one.
 */
export function sampleMemory(pid: number, intervalMs = 20): { stop(): MemoryPeak; current(): MemoryPeak } {
  const peak: MemoryPeak = { samples: 0, maxRss: 0, maxHwm: 0 };
  const take = (): void => {
    const m = readMemory(pid);
    if (m === undefined) return;
    peak.samples++;
    peak.maxRss = Math.max(peak.maxRss, m.rss);
    peak.maxHwm = Math.max(peak.maxHwm, m.hwm);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    current: () => ({ ...peak }),
    stop: () => {
      clearInterval(timer);
      return { ...peak };
    },
  };
}

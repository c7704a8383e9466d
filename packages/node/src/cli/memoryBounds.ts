import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** How closely a command's memory follows what it really holds. */
export type MemoryBounds = {
  /** How often the buffers' memory is looked at. */
  checkMs: number;
  /** Memory of buffers no longer used that may wait for the garbage collector before it is asked to run. */
  bufferSlackBytes: number;
};

/** Buffers unchanged this long mean the process is idle; it is then checked less often. */
const IDLE_AFTER_MS = 1000;
const IDLE_CHECK_MS = 100;

const DEFAULTS: MemoryBounds = { checkMs: 20, bufferSlackBytes: 8 * 1024 * 1024 };

/**
 * Keeps a command's resident memory close to what it holds. Three habits of V8 otherwise set the peak, not the
 * data: the young generation doubles under a steady stream of short-lived objects (change pages, messages) up to
 * 32 MiB; the old generation may grow to several times what survived the last full collection; and the memory of
 * dead buffers (file chunks, frames) is only given back once 64 MiB of them have piled up, since they live outside
 * the heap. So the young generation keeps its starting size, the old one grows by at most 30% between full
 * collections, and when buffers' memory grows by more than `bufferSlackBytes` since it was last collected, a
 * young-generation collection (and, if that is not enough, a full one) runs. The heaps here are small, so the
 * extra collections cost little. Call once, at the start of a bin; the returned function stops the checks.
 */
export function boundMemory(bounds: Partial<MemoryBounds> = {}): () => void {
  const { checkMs, bufferSlackBytes } = { ...DEFAULTS, ...bounds };
  // Both are read when V8 next sizes the heap, so they take effect in a running process.
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--heap-growing-percent=30");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as ((opts?: { type: "minor" | "major"; execution: "sync" }) => void) | undefined;
  if (typeof gc !== "function") return () => undefined;
  const buffers = (): number => process.memoryUsage().arrayBuffers;
  // `base`: what a full collection left; `last`: what the last collection of either kind left. Most dead buffers
  // are young and a young-generation collection frees them cheaply; a full one runs when that leaves more than
  // the slack above `base`, so the level never creeps up from one young collection to the next.
  let base = buffers();
  let last = base;
  let seen = base;
  let quietChecks = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const now = buffers();
    quietChecks = now === seen ? quietChecks + 1 : 0;
    seen = now;
    if (now > last + bufferSlackBytes) {
      gc({ type: "minor", execution: "sync" });
      last = buffers();
      if (last > base + bufferSlackBytes) {
        gc({ type: "major", execution: "sync" });
        base = last = buffers();
      }
      seen = last;
    }
    if (stopped) return;
    // An idle process (a daemon waiting for changes) is looked at ten times a second, not fifty.
    timer = setTimeout(check, quietChecks * checkMs >= IDLE_AFTER_MS ? IDLE_CHECK_MS : checkMs);
    timer.unref();
  };
  check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

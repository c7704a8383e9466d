import { join } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { IgnoreRules } from "@zync/node";

/** Timing of the watcher's coalescing. */
export type WatchTiming = {
  /** Quiet time after the last event before a batch is handed on. */
  debounceMs: number;
  /** Longest a busy path set waits before it is handed on anyway. */
  maxWaitMs: number;
};

/** A source of "these paths may have changed" hints for one root. Injected so tests can drive it. */
export type ChangeHints = {
  /** Starts watching; resolves once the watcher is ready. */
  start(onPaths: (paths: string[]) => void, onError: (err: Error) => void): Promise<void>;
  close(): Promise<void>;
};

/**
 * Watches a root with chokidar and hands on the relative paths that events touched, coalesced so that an
 * editor's save burst arrives as one batch. Events are hints: the indexer re-reads each path.
 */
export function chokidarHints(rootAbs: string, rules: IgnoreRules, timing: WatchTiming): ChangeHints {
  let watcher: FSWatcher | undefined;
  let pending = new Set<string>();
  let quiet: NodeJS.Timeout | undefined;
  let oldest: NodeJS.Timeout | undefined;
  const prefix = `${rootAbs}/`;
  const relOf = (abs: string): string | undefined => (abs.startsWith(prefix) ? abs.slice(prefix.length) : undefined);

  return {
    start(onPaths, onError) {
      const flush = (): void => {
        clearTimeout(quiet);
        clearTimeout(oldest);
        quiet = oldest = undefined;
        const batch = [...pending];
        pending = new Set();
        if (batch.length > 0) onPaths(batch);
      };
      watcher = watch(rootAbs, {
        ignoreInitial: true,
        followSymlinks: false,
        persistent: true,
        ignored: (abs, stats) => {
          const rel = relOf(abs);
          return rel !== undefined && rules.ignores(rel, stats?.isDirectory() ?? false);
        },
      });
      const hint = (abs: string): void => {
        const rel = relOf(abs);
        if (rel === undefined || rules.ignores(rel, false)) return;
        pending.add(rel);
        clearTimeout(quiet);
        quiet = setTimeout(flush, timing.debounceMs);
        oldest ??= setTimeout(flush, timing.maxWaitMs);
      };
      watcher.on("all", (_event, abs) => hint(abs));
      // chokidar drops a change event when only the mode changed on a file read since its last write (atime
      // past mtime), so a chmod +x would go unseen until a rescan. The raw events carry it; the indexer's
      // stat comparison filters out the ones that changed nothing.
      watcher.on("raw", (_event, evPath, details) => {
        const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
        if (typeof watched !== "string") return;
        hint(watched);
        if (typeof evPath === "string" && evPath !== "") hint(join(watched, evPath));
      });
      watcher.on("error", (err) => onError(err instanceof Error ? err : new Error(String(err))));
      const w = watcher;
      return new Promise((resolve) => w.once("ready", () => resolve()));
    },
    async close() {
      clearTimeout(quiet);
      clearTimeout(oldest);
      await watcher?.close();
    },
  };
}

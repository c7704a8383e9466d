import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { isCookie, scanTree, type IgnoreRules, type Logger } from "@zync/node";
import type { ChangeHints } from "./rootWatcher.js";
import type { RootIndexer } from "./rootIndexer.js";
import type { RootCoverage } from "./store/watchCoverage.js";
import { effectiveWatchLimit, limitNeeded, topmostFolders, watchLimitSentence } from "./watchLimit.js";

/** How many unwatched folders status names. */
const SHOWN = 10;

/** How often the top of a root whose own folder is unwatched is listed for barrier cookies. */
const COOKIE_POLL_MS = 200;

/** Folders that appear unwatchable within this long are counted and reported together. */
const SETTLE_MS = 100;

/** What {@link UnwatchedRescans} works with. */
export type UnwatchedRescansOptions = {
  root: { name: string; abs: string };
  rules: IgnoreRules;
  hints: ChangeHints;
  indexer: Pick<RootIndexer, "reconcile">;
  /** Time between the rescans of the unwatched folders. */
  intervalMs: number;
  logger: Logger;
  /** Where the root's shortfall is kept for `zync-daemon status` (undefined: every folder is watched). */
  publish: (coverage: RootCoverage | undefined) => void;
  /** Barrier cookies found at the top of a root whose own folder is unwatched (handled as the watcher's would be). */
  onCookies: (names: string[]) => void;
  /** Reads a file of /proc (injected by tests). */
  readText?: (file: string) => string | undefined;
  clock?: () => number;
};

const readProc = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

/**
 * The fallback for the folders of one root the watcher could not watch (the system's limit on inotify watches
 * is reached): says so once, in one sentence, with the number of watches the root needs; rescans those
 * subtrees (stat keys, and hashes where a key cannot prove a file unchanged, as every scan does) every
 * `intervalMs`, trying to watch them again first; and lets a barrier pass by rescanning them at once
 * ({@link catchUp}). Everything that is watched keeps syncing live.
 */
export class UnwatchedRescans {
  private readonly o: UnwatchedRescansOptions;
  private readonly readText: (file: string) => string | undefined;
  private readonly clock: () => number;
  /** The topmost unwatched folders as last seen. */
  private known = new Set<string>();
  private reported = false;
  private needed = 0;
  private lastRescanAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private cookiePoll: NodeJS.Timeout | undefined;
  private readonly cookiesSeen = new Set<string>();
  private stopped = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: UnwatchedRescansOptions) {
    this.o = opts;
    this.readText = opts.readText ?? readProc;
    this.clock = opts.clock ?? Date.now;
  }

  /** The watcher could not watch `folder`: counted and reported shortly, together with any others. */
  readonly onUnwatched: (folder: string) => void = () => {
    if (this.stopped || this.settle !== undefined) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      void this.serial(() => this.refresh(false));
    }, SETTLE_MS);
    this.settle.unref();
  };

  /**
   * The watcher has started and the first full scan is about to walk everything: the folders unwatched so far
   * need no rescan of their own now (they are still counted and reported).
   */
  coveredByFirstScan(): void {
    this.known = new Set(this.unwatched());
  }

  /** The topmost folders not watched now. */
  unwatched(): string[] {
    return topmostFolders(this.o.hints.coverage?.().unwatched ?? []);
  }

  /** Rescans the unwatched folders now, so that a barrier covers what changed in them (resolves at once when none). */
  catchUp(): Promise<void> {
    if (this.unwatched().length === 0) return Promise.resolve();
    return this.serial(() => this.rescan(this.unwatched()));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.settle);
    clearInterval(this.timer);
    clearInterval(this.cookiePoll);
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.tail.then(fn, fn).catch((err: unknown) => {
      if (!this.stopped) this.o.logger.warn(`rescanning the unwatched folders of ${this.o.root.name} failed: ${String(err)}`);
    });
    this.tail = run;
    return run;
  }

  private async rescan(tops: readonly string[]): Promise<void> {
    for (const top of tops) {
      if (this.stopped) return;
      await this.o.indexer.reconcile(top);
    }
    this.lastRescanAt = this.clock();
  }

  /** Folders the root wants watched: those watched, plus every folder in the unwatched subtrees. */
  private async countNeeded(watched: number, tops: readonly string[]): Promise<number> {
    let n = watched;
    for (const top of tops) {
      n++;
      for await (const e of scanTree(this.o.root.abs, this.o.rules, top)) if (e.key.kind === "dir") n++;
    }
    return n;
  }

  /**
   * Brings the report in line with the watcher: new unwatched folders are rescanned at once (what was written in
   * them before anything could watch them) and counted; `tick` first tries to watch them again.
   */
  private async refresh(tick: boolean): Promise<void> {
    if (this.stopped) return;
    const hints = this.o.hints;
    if (tick) hints.rewatch?.();
    const watched = hints.coverage?.().watched ?? 0;
    const tops = this.unwatched();
    if (tops.length === 0) {
      if (this.reported) this.o.logger.info(`root ${this.o.root.name}: every folder is watched again; its periodic rescans of unwatched folders stop`);
      this.reported = false;
      this.known = new Set();
      this.setPolling(false);
      clearInterval(this.timer);
      this.timer = undefined;
      this.o.publish(undefined);
      return;
    }
    const fresh = tick ? tops : tops.filter((t) => !this.known.has(t));
    // A refresh for folders already known to be unwatched (a tick's attempt to watch them failed again) has nothing new.
    if (!tick && fresh.length === 0 && this.reported) return;
    const changed = tops.length !== this.known.size || tops.some((t) => !this.known.has(t));
    this.known = new Set(tops);
    if (changed || !this.reported) this.needed = Math.max(await this.countNeeded(watched, tops), watched + tops.length);
    const limit = effectiveWatchLimit(this.readText);
    const rescanSeconds = Math.round(this.o.intervalMs / 100) / 10;
    if (!this.reported) {
      this.reported = true;
      this.o.logger.warn(watchLimitSentence({ root: this.o.root.name, watched, needed: this.needed, limit, rescanSeconds }));
    }
    this.setPolling(tops.includes(""));
    this.timer ??= setInterval(() => void this.serial(() => this.refresh(true)), this.o.intervalMs);
    this.timer.unref();
    if (fresh.length > 0) await this.rescan(fresh);
    if (this.stopped) return;
    this.o.publish({
      root: this.o.root.name,
      watched,
      needed: this.needed,
      limitNeeded: limitNeeded({ watched, needed: this.needed, limit }) ?? null,
      rescanSeconds,
      unwatched: tops.slice(0, SHOWN),
      unwatchedTotal: tops.length,
      lastRescanAt: this.lastRescanAt,
    });
  }

  /** While the root's own folder is unwatched, its top is listed often so that barrier cookies are still seen. */
  private setPolling(on: boolean): void {
    if (!on) {
      clearInterval(this.cookiePoll);
      this.cookiePoll = undefined;
      return;
    }
    if (this.cookiePoll !== undefined) return;
    let listing = false;
    this.cookiePoll = setInterval(() => {
      if (listing || this.stopped) return;
      listing = true;
      readdir(this.o.root.abs)
        .then((names) => {
          const cookies = names.filter(isCookie);
          for (const c of [...this.cookiesSeen]) if (!cookies.includes(c)) this.cookiesSeen.delete(c);
          const fresh = cookies.filter((c) => !this.cookiesSeen.has(c));
          for (const c of fresh) this.cookiesSeen.add(c);
          if (fresh.length > 0 && !this.stopped) this.o.onCookies(fresh);
        })
        .catch(() => undefined)
        .finally(() => (listing = false));
    }, COOKIE_POLL_MS);
    this.cookiePoll.unref();
  }
}

import { existsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { depthOf, ErrorCode, isWirePath, parentOf, ProtocolError, type EntryState } from "@zync/protocol";
import {
  isMassDeletion,
  isMissing,
  isRacy,
  isUnreadable,
  MASS_DELETE_MIN,
  SafeRoot,
  keyProvesUnchanged,
  scanTree,
  stateFor,
  statKeyOf,
  TIMESTAMP_GRANULARITY_MS,
  type IgnoreRules,
  type SkipReason,
  type StatKey,
} from "@zync/node";
import type { ChangeLog, LogWrite, StoredEntry } from "./store/changeLog.js";
import { oneWritePerPath } from "./git/batchWrites.js";

/** A watched root: its wire name and local folder. */
export type RootSpec = { name: string; abs: string };

const BATCH = 1000;

/** True when content, type, link target, permission bits or a file's mtime differ. */
function stateChanged(a: EntryState, b: EntryState): boolean {
  switch (a.kind) {
    case "file":
      // A new mtime alone is recorded too: R carries E's mtimes (a client only sets it, nothing is sent again).
      return b.kind !== "file" || a.hash !== b.hash || a.size !== b.size || a.mode !== b.mode || a.mtimeMs !== b.mtimeMs;
    case "dir":
      return b.kind !== "dir" || a.mode !== b.mode;
    case "symlink":
      return b.kind !== "symlink" || a.target !== b.target;
    case "deleted":
      return b.kind !== "deleted";
  }
}

/**
 * The mass-deletion guard: when a root disappears or suddenly loses more than `maxShare` of its files (an
 * unmounted disk, a mistaken `rm -rf`), the root is halted instead of recording the deletions.
 */
export type DeleteGuard = {
  /** Record such deletions anyway (`--allow-mass-delete`). */
  allow: boolean;
  /** Share of a root's files (0..1) that may vanish at once. */
  maxShare: number;
  /** How often a halted root is checked again (it resumes by itself once its files are back). */
  retryMs: number;
  onHalt(root: string, reason: string): void;
  onResume(root: string): void;
};

/** What one reconcile or check did. */
export type IndexStats = { recorded: number; hashed: number; scanned: number };

/** How a root's indexer reports and times the work it does besides answering hints. */
export type IndexerOptions = {
  /**
   * A folder named by a hint (or holding a path that was) is compared whole with the disk once it has been quiet
   * this long: that closes the gap a lost event leaves, and re-reads files whose keys were taken too soon after
   * they changed (racily clean), so their keys become trusted. Longer than the timestamp granularity.
   */
  verifyDelayMs?: number;
  /** A busy folder is verified at the latest this long after its first hint. */
  verifyMaxWaitMs?: number;
  /** A path was left out (unreadable, a FIFO/socket/device, a name that cannot be sent); said once per path. */
  onSkip?: (path: string, reason: string) => void;
  /** A path left out before can be synced again (or is gone). */
  onSkipCleared?: (path: string) => void;
  /** A folder's verification found what the hints had missed. */
  onGapClosed?: (folder: string, recorded: number) => void;
  /** Every folder waiting for verification has been verified (`files`: files read again meanwhile). */
  onVerified?: (files: number) => void;
};

const SKIP_TEXT: Record<SkipReason | "unreadable-file", string> = {
  unreadable: "it cannot be read (permission denied)",
  "unreadable-file": "its content cannot be read (permission denied)",
  special: "it is a FIFO, socket or device",
  "unsendable-name": "its name cannot be sent (a backslash, or over-long)",
};

/**
 * Keeps one root's entries in the change log true to the disk. `reconcile` compares a whole tree (or subtree)
 * with what is recorded; `checkPaths` handles the watcher's hints. Both go through the same comparison, and
 * calls are serialised so two never interleave.
 */
export class RootIndexer {
  readonly root: RootSpec;
  private readonly log: ChangeLog;
  private readonly rules: IgnoreRules;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly warn: (msg: string) => void;
  private readonly guard: DeleteGuard;
  private halted: string | undefined;
  private retry: NodeJS.Timeout | undefined;

  /** When stat keys are taken; keys of files changed shortly before that moment are not trusted. */
  private readonly clock: () => number;
  private readonly opts: Required<Pick<IndexerOptions, "verifyDelayMs" | "verifyMaxWaitMs">> & IndexerOptions;
  /** Folders waiting for verification: when they were first and last named. */
  private readonly toVerify = new Map<string, { first: number; last: number }>();
  private verifyTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Files read again by verifications since the queue was last empty. */
  private rereadSinceQuiet = 0;
  /** Folders of the running verification not verified yet (they need no second round for what it finds). */
  private readonly verifyBatch = new Set<string>();
  /** The folder whose verification is running. */
  private verifying: string | undefined;
  /** Paths left out and already said so, with why. */
  private readonly skipped = new Map<string, string>();
  /** Feature git: set while git is busy in the root; nothing is recorded then (see {@link holdForGit}). */
  private gitHeld = false;
  /** Counts holds and their ends: work queued before one of them is dropped (the batch covers it). */
  private holdEpoch = 0;
  /** While a batch is being read: the writes it will record in one transaction. */
  private collecting: LogWrite[] | undefined;
  /** Work a hold dropped, which the batch that ends it takes in: hinted paths, or the whole root. */
  private dropped: Set<string> | "all" = new Set();
  /** Verifications a hold dropped, queued again once it ends. */
  private readonly droppedVerify = new Set<string>();

  constructor(
    log: ChangeLog,
    root: RootSpec,
    rules: IgnoreRules,
    warn: (msg: string) => void,
    guard: DeleteGuard,
    clock: () => number = Date.now,
    opts: IndexerOptions = {},
  ) {
    this.clock = clock;
    this.opts = { verifyDelayMs: TIMESTAMP_GRANULARITY_MS + 500, verifyMaxWaitMs: 10_000, ...opts };
    this.log = log;
    this.root = root;
    this.rules = rules;
    this.warn = warn;
    this.guard = guard;
  }

  /** Why the root is halted, or undefined while it is recorded normally. */
  haltedBecause(): string | undefined {
    return this.halted;
  }

  /** Stops the timers (retry of a halted root, folder verification); later calls do nothing. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.verifyTimer);
    this.toVerify.clear();
  }

  /**
   * Git is busy in the root: from now on nothing is recorded for it, and work already queued (hints, verifications,
   * rescans) is dropped when its turn comes. {@link recordBatch} ends the hold.
   */
  holdForGit(): void {
    this.gitHeld = true;
    this.holdEpoch++;
  }

  /** True while recording waits for git. */
  heldForGit(): boolean {
    return this.gitHeld;
  }

  /**
   * Ends a hold: checks the paths held hints named (or compares the whole root with the disk, for "all") and
   * records every difference in one transaction, so the batch's changes have contiguous seqs. `inTransaction`
   * runs inside it with the first and last seq recorded, when anything was. Work queued during the hold is dropped.
   */
  recordBatch(paths: readonly string[] | "all", inTransaction: (first: number, last: number) => void): Promise<IndexStats> {
    this.gitHeld = false;
    this.holdEpoch++;
    return this.serial(async () => {
      if (this.stopped) return { recorded: 0, hashed: 0, scanned: 0 };
      const dropped = this.dropped;
      this.dropped = new Set();
      const all = paths === "all" || dropped === "all";
      this.collecting = [];
      let stats: IndexStats;
      let writes: LogWrite[];
      try {
        stats = all ? await this.reconcileNow("") : await this.checkNow([...paths, ...dropped]);
      } finally {
        writes = this.collecting;
        this.collecting = undefined;
      }
      for (const f of this.droppedVerify) this.scheduleVerify(f);
      this.droppedVerify.clear();
      const before = this.log.head();
      this.log.db.transaction(() => {
        const head = this.log.write(oneWritePerPath(writes));
        if (head > before) inTransaction(before + 1, head);
      })();
      return stats;
    });
  }

  /** Writes to the log, or into the batch being read. */
  private record(writes: readonly LogWrite[]): void {
    if (this.collecting !== undefined) this.collecting.push(...writes);
    // Work that was under way when git began (a path read after git changed it): its paths go into the batch.
    else if (this.gitHeld) this.drop(writes.map((w) => w.path));
    else this.log.write(writes);
  }

  /** True when work queued at `epoch` must be dropped: a hold began (or ended) since, or one is on. */
  private droppedByHold(epoch: number): boolean {
    return this.collecting === undefined && (this.gitHeld || epoch !== this.holdEpoch);
  }

  /** Keeps what a hold dropped for the batch that ends it. */
  private drop(paths: readonly string[] | "all"): void {
    if (paths === "all") this.dropped = "all";
    else if (this.dropped !== "all") for (const p of paths) this.dropped.add(p);
  }

  /** Resolves once the work queued so far is done. */
  idle(): Promise<void> {
    return this.serial(() => Promise.resolve()).then(() => undefined);
  }

  /** Folders waiting to be verified (for tests and status). */
  pendingVerification(): string[] {
    return [...this.toVerify.keys()].sort();
  }

  /**
   * Queues `folder` for a verification once it has been quiet for a while. While a folder is being verified,
   * what its own checks find does not queue it again unless `again` (something was missed, or a key is racy).
   */
  private scheduleVerify(folder: string, again = false): void {
    if (this.stopped || ((folder === this.verifying || this.verifyBatch.has(folder)) && !again)) return;
    const now = Date.now();
    const known = this.toVerify.get(folder);
    this.toVerify.set(folder, { first: known?.first ?? now, last: now });
    this.armVerify();
  }

  private armVerify(): void {
    if (this.stopped || this.toVerify.size === 0) return;
    let due = Number.POSITIVE_INFINITY;
    for (const t of this.toVerify.values()) due = Math.min(due, this.dueOf(t));
    clearTimeout(this.verifyTimer);
    this.verifyTimer = setTimeout(() => void this.verifyDue().catch((err: unknown) => this.stopped || this.warn(`verifying ${this.root.name} failed: ${String(err)}`)), Math.max(0, due - Date.now()));
    this.verifyTimer.unref();
  }

  private dueOf(t: { first: number; last: number }): number {
    return Math.min(t.first + this.opts.verifyMaxWaitMs, t.last + this.opts.verifyDelayMs);
  }

  /** Verifies the folders that are due now. */
  private async verifyDue(): Promise<void> {
    const now = Date.now();
    const due = [...this.toVerify].filter(([, t]) => this.dueOf(t) <= now).map(([f]) => f);
    for (const f of due) this.toVerify.delete(f);
    if (due.length > 0) this.rereadSinceQuiet += (await this.verifyFolders(due)).hashed;
    if (this.toVerify.size === 0 && !this.stopped) {
      this.opts.onVerified?.(this.rereadSinceQuiet);
      this.rereadSinceQuiet = 0;
    }
    this.armVerify();
  }

  /**
   * Compares each folder's entries on disk with what the log holds for its direct children, and checks every
   * one that differs, is new, is gone, or whose key cannot prove it unchanged (racy keys are re-read and become
   * trusted). Watcher events are hints: this is how a lost one is made good without waiting for a full rescan.
   */
  verifyFolders(folders: readonly string[]): Promise<IndexStats> {
    const epoch = this.holdEpoch;
    return this.serial(async () => {
      const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
      if (this.halted !== undefined || this.stopped) return stats;
      if (this.droppedByHold(epoch)) {
        for (const f of folders) this.droppedVerify.add(f);
        return stats;
      }
      const safe = new SafeRoot(this.root.abs);
      const ordered = [...new Set(folders)].sort((a, b) => depthOf(a) - depthOf(b));
      for (const f of ordered) {
        this.toVerify.delete(f);
        this.verifyBatch.add(f);
      }
      try {
        await this.verifyEach(safe, ordered, stats);
      } finally {
        this.verifyBatch.clear();
      }
      return stats;
    });
  }

  private async verifyEach(safe: SafeRoot, ordered: readonly string[], stats: IndexStats): Promise<void> {
    for (const [i, folder] of ordered.entries()) {
      this.verifyBatch.delete(folder);
      if (this.gitHeld) {
        for (const f of ordered.slice(i)) this.droppedVerify.add(f);
        return;
      }
      if (folder !== "" && (!isWirePath(folder) || this.rules.ignores(folder, true))) continue;
      let names: string[];
      try {
        names = await readdir(this.abs(folder));
      } catch (err) {
        // The folder itself went away or changed kind: its own check records that.
        if (folder !== "" && (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP")) add(stats, await this.checkOne(safe, folder));
        continue;
      }
      const children = new Map(this.log.childrenOf(this.root.name, folder).map((e) => [e.path, e]));
      const suspects: string[] = [];
      for (const name of names) {
        const rel = folder === "" ? name : `${folder}/${name}`;
        const prev = children.get(rel);
        children.delete(rel);
        if (!isWirePath(rel)) continue;
        const key = await this.keyAt(safe, rel);
        if (key === undefined || this.rules.ignores(rel, key.kind === "dir")) {
          if (prev !== undefined) suspects.push(rel);
          continue;
        }
        if (!keyProvesUnchanged(prev?.key, key) || prev?.state.kind !== key.kind) suspects.push(rel);
      }
      // Recorded as there, but not listed any more.
      suspects.push(...children.keys());
      if (suspects.length === 0) continue;
      const halt = await this.batchLoss(safe, suspects);
      if (halt !== undefined) {
        this.halt(halt);
        return;
      }
      if (this.gitHeld) {
        for (const f of ordered.slice(i)) this.droppedVerify.add(f);
        return;
      }
      const found: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
      this.verifying = folder;
      try {
        for (const rel of suspects.sort((a, b) => depthOf(a) - depthOf(b) || (a < b ? -1 : 1))) add(found, await this.checkOne(safe, rel));
      } finally {
        this.verifying = undefined;
      }
      add(stats, found);
      if (found.recorded > 0) {
        this.opts.onGapClosed?.(folder, found.recorded);
        // Something had been missed: look once more after the next quiet spell.
        this.scheduleVerify(folder, true);
      }
    }
  }

  /** Says once that `path` is left out, and why. */
  private skip(path: string, why: SkipReason | "unreadable-file"): void {
    const text = SKIP_TEXT[why];
    if (this.skipped.get(path) === text) return;
    this.skipped.set(path, text);
    this.warn(`not syncing ${this.root.name}/${path}: ${text}`);
    this.opts.onSkip?.(path, text);
  }

  private unskip(path: string): void {
    if (!this.skipped.delete(path)) return;
    this.opts.onSkipCleared?.(path);
  }

  /** The verification of a path's folder, and of the path itself when it is a folder. */
  private verifyAround(path: string, isDir: boolean, again = false): void {
    this.scheduleVerify(parentOf(path), again);
    if (isDir) this.scheduleVerify(path, again);
  }

  private halt(reason: string): void {
    if (this.halted === undefined) {
      this.warn(`root ${this.root.name} halted: ${reason}; nothing is recorded for it until its files are back (or restart with --allow-mass-delete if this was intended)`);
      this.guard.onHalt(this.root.name, reason);
    }
    this.halted = reason;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.reconcile().catch(() => undefined), this.guard.retryMs);
    this.retry.unref();
  }

  private resume(): void {
    if (this.halted === undefined) return;
    this.halted = undefined;
    clearTimeout(this.retry);
    this.warn(`root ${this.root.name} resumed: its files are back`);
    this.guard.onResume(this.root.name);
  }

  /** Why losing `lost` of `live` files at once must halt the root, or undefined when it may be recorded. */
  private massLoss(lost: number, live: number): string | undefined {
    if (!existsSync(this.root.abs)) return `its folder ${this.root.abs} is gone (an unmounted disk?)`;
    if (this.guard.allow || !isMassDeletion(lost, live, this.guard.maxShare)) return undefined;
    return `${lost} of its ${live} files vanished at once (an unmounted disk or a mistaken rm -rf?)`;
  }

  /** Scans the tree below `under` ("" for the whole root) and records every difference from the log. */
  reconcile(under = ""): Promise<IndexStats> {
    const epoch = this.holdEpoch;
    return this.serial(() => {
      if (!this.droppedByHold(epoch)) return this.reconcileNow(under);
      this.drop("all");
      return Promise.resolve({ recorded: 0, hashed: 0, scanned: 0 });
    });
  }

  /**
   * Re-checks the given paths (watcher hints). A folder that appears, or whose inode changed (removed and made
   * again), is scanned whole; every folder named, and the folder of every path named, is verified whole once it
   * has been quiet for a while ({@link verifyFolders}). "" names the root folder.
   */
  checkPaths(paths: readonly string[]): Promise<IndexStats> {
    const epoch = this.holdEpoch;
    return this.serial(() => {
      if (!this.droppedByHold(epoch)) return this.checkNow(paths);
      this.drop(paths);
      return Promise.resolve({ recorded: 0, hashed: 0, scanned: 0 });
    });
  }

  private async checkNow(paths: readonly string[]): Promise<IndexStats> {
    {
      const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
      if (this.halted !== undefined || this.stopped) return stats;
      const unique = [...new Set(paths)];
      if (unique.includes("")) this.scheduleVerify("");
      const sorted = unique.filter((p) => p !== "").sort((a, b) => depthOf(a) - depthOf(b) || (a < b ? -1 : 1));
      const safe = new SafeRoot(this.root.abs);
      const halt = await this.batchLoss(safe, sorted);
      if (halt !== undefined) {
        this.halt(halt);
        return stats;
      }
      for (const [i, rel] of sorted.entries()) {
        // Git began an operation: the rest waits for the batch that ends the hold.
        if (this.gitHeld && this.collecting === undefined) {
          this.drop(sorted.slice(i));
          break;
        }
        add(stats, await this.checkOne(safe, rel));
      }
      return stats;
    }
  }

  /**
   * When a batch of watcher hints would delete more than a few files, compares the whole root on disk with the
   * log (the files of a big `rm -rf` arrive over several batches, so one batch alone says little).
   */
  private async batchLoss(safe: SafeRoot, paths: readonly string[]): Promise<string | undefined> {
    let vanishing = 0;
    for (const rel of paths) {
      const prev = this.log.get(this.root.name, rel);
      if (prev === undefined || prev.state.kind === "deleted" || (await this.keyAt(safe, rel)) !== undefined) continue;
      vanishing += prev.state.kind === "dir" ? this.log.liveBelow(this.root.name, rel).filter((e) => e.state.kind === "file").length : prev.state.kind === "file" ? 1 : 0;
    }
    if (vanishing <= MASS_DELETE_MIN && existsSync(this.root.abs)) return undefined;
    const live = this.log.liveFileCount(this.root.name);
    return this.massLoss(Math.max(0, live - (await this.countFiles())), live);
  }

  /** Files on disk in the root now (a walk without reading any file). */
  private async countFiles(): Promise<number> {
    let n = 0;
    for await (const e of scanTree(this.root.abs, this.rules)) if (e.key.kind === "file") n++;
    return n;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private abs(rel: string): string {
    return rel === "" ? this.root.abs : `${this.root.abs}/${rel}`;
  }

  private async reconcileNow(under: string): Promise<IndexStats> {
    const name = this.root.name;
    const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
    if (this.stopped) return stats;
    const known = under === "" ? this.log.entriesOf(name) : new Map(this.log.liveBelow(name, under).map((e) => [e.path, e]));
    const seen = new Set<string>();
    let writes: LogWrite[] = [];
    const flush = (): void => {
      stats.recorded += writes.filter((w) => w.op === "record").length;
      this.record(writes);
      writes = [];
    };
    const unsyncable = (rel: string, why: SkipReason): void => {
      seen.add(rel);
      this.skip(rel, why);
    };
    for await (const { path, key } of scanTree(this.root.abs, this.rules, under, unsyncable, this.clock)) {
      // Git began an operation: this comparison stops, and the batch that ends the hold compares again.
      if (this.gitHeld && this.collecting === undefined) {
        this.drop("all");
        return stats;
      }
      stats.scanned++;
      seen.add(path);
      const prev = known.get(path);
      if (keyProvesUnchanged(prev?.key, key)) continue;
      if (prev?.state.kind === "dir" && key.kind !== "dir") {
        // A folder became a file or link: what it held is deleted first, so a client can empty it before replacing it.
        const below = [...known.values()].filter((e) => e.state.kind !== "deleted" && e.path.startsWith(`${path}/`));
        writes.push(...deletions(name, below));
        for (const e of below) known.delete(e.path);
      }
      const w = await this.compare(path, key, prev, stats);
      if (w) writes.push(w);
      if (writes.length >= BATCH) flush();
    }
    const gone = [...known.values()].filter((e) => e.state.kind !== "deleted" && !seen.has(e.path));
    const { ignored, deleted, back } = await this.splitGone(gone);
    const liveFiles = [...known.values()].filter((e) => e.state.kind === "file").length;
    const lostFiles = deleted.filter((e) => e.state.kind === "file").length;
    let halt = this.massLoss(lostFiles, liveFiles);
    if (halt === undefined && lostFiles > 0 && under === "") {
      // The scan may have raced with a disk going away halfway through: count what is there now before deleting.
      halt = this.massLoss(Math.max(lostFiles, liveFiles - (await this.countFiles())), liveFiles);
    }
    // A halted root records neither deletions nor forgotten paths: what the scan missed may only be away for now.
    if (halt === undefined) {
      writes.push(...ignored.map((e) => ({ op: "forget", root: name, path: e.path }) as const), ...deletions(name, deleted));
      for (const e of deleted) this.unskip(e.path);
    }
    flush();
    if (halt === undefined && back.length > 0) {
      // Missed by the walk but there now (a folder mid-replace, say): checked as hints are, never forgotten.
      const safe = new SafeRoot(this.root.abs);
      for (const e of back.sort((a, b) => depthOf(a.path) - depthOf(b.path))) add(stats, await this.checkOne(safe, e.path));
    }
    if (under === "") {
      if (halt !== undefined) this.halt(halt);
      else this.resume();
    }
    return stats;
  }

  /**
   * Splits entries the scan no longer saw into those still on disk but now ignored (forgotten: a new ignore
   * pattern must not delete files on the other side), those on disk and not ignored (the walk missed them while
   * the tree changed under it; checked again), and those really gone.
   */
  private async splitGone(gone: StoredEntry[]): Promise<{ ignored: StoredEntry[]; deleted: StoredEntry[]; back: StoredEntry[] }> {
    const out = { ignored: [] as StoredEntry[], deleted: [] as StoredEntry[], back: [] as StoredEntry[] };
    const safe = new SafeRoot(this.root.abs);
    for (const e of gone) {
      const key = await this.keyAt(safe, e.path);
      if (key === undefined) out.deleted.push(e);
      else if (this.rules.ignores(e.path, key.kind === "dir")) out.ignored.push(e);
      else out.back.push(e);
    }
    return out;
  }

  /**
   * The stat key at `rel`, or undefined when nothing syncable is there (a FIFO, socket or device counts as
   * nothing) or a folder on the way is a symlink or a file.
   */
  private async keyAt(safe: SafeRoot, rel: string): Promise<StatKey | undefined> {
    try {
      const abs = await safe.resolve(rel);
      const takenMs = this.clock();
      const key = statKeyOf(await lstat(abs), takenMs);
      if (key === undefined && !this.rules.ignores(rel, false)) this.skip(rel, "special");
      return key;
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP" || (err instanceof ProtocolError && err.code === ErrorCode.BadPath)) return undefined;
      // Present but unreadable: treated as there (so never recorded as deleted), with what the log knew.
      if (isUnreadable(err)) return this.log.get(this.root.name, rel)?.key ?? { kind: "file", size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0, mode: 0, takenMs: 0 };
      throw err;
    }
  }

  /** The write that brings the log in line with a path whose stat key changed, or undefined if it vanished. */
  private async compare(path: string, key: StatKey, prev: StoredEntry | undefined, stats: IndexStats): Promise<LogWrite | undefined> {
    let state: EntryState;
    try {
      if (key.kind === "file") stats.hashed++;
      state = await stateFor(this.abs(path), key);
    } catch (err) {
      // Gone, or no longer a regular file (a FIFO is never waited on): its folder's verification settles it.
      if (isMissing(err) || (err instanceof ProtocolError && err.code === ErrorCode.NotFound)) {
        this.verifyAround(path, false);
        return undefined;
      }
      if (isUnreadable(err)) this.skip(path, "unreadable-file");
      else this.warn(`cannot read ${this.root.name}/${path}: ${(err as Error).message}`);
      // What the log knew stays, with its old key, so the next look reads the file again.
      return prev?.key ? { op: "touch", root: this.root.name, path, key: prev.key } : undefined;
    }
    this.unskip(path);
    // A key taken too soon after the file changed proves nothing later: the folder is verified again once it can.
    if (key.kind === "file" && isRacy(key)) this.verifyAround(path, false, true);
    if (prev !== undefined && !stateChanged(prev.state, state)) return { op: "touch", root: this.root.name, path, key };
    return { op: "record", root: this.root.name, path, state, key };
  }

  private async checkOne(safe: SafeRoot, rel: string): Promise<IndexStats> {
    const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 1 };
    if (!isWirePath(rel)) return stats;
    const name = this.root.name;
    const prev = this.log.get(name, rel);
    const key = await this.keyAt(safe, rel);
    // An ignored path that exists is left alone; a reconcile after the rules change forgets it.
    if (key !== undefined && this.rules.ignores(rel, key.kind === "dir")) return stats;
    this.verifyAround(rel, key?.kind === "dir");
    const writes: LogWrite[] = [];
    const wasDir = prev?.state.kind === "dir";
    if (key === undefined || (wasDir && key.kind !== "dir")) {
      if (wasDir) writes.push(...deletions(name, this.log.liveBelow(name, rel)));
      if (key === undefined && prev !== undefined && prev.state.kind !== "deleted") writes.push(...deletions(name, [prev]));
      if (key === undefined && this.skipped.get(rel) !== SKIP_TEXT.special) this.unskip(rel);
    }
    if (key !== undefined && !keyProvesUnchanged(prev?.key, key)) {
      const w = await this.compare(rel, key, prev, stats);
      if (w) writes.push(w);
    }
    stats.recorded += writes.filter((w) => w.op === "record").length;
    this.record(writes);
    // A folder that is new, or not the folder recorded (removed and made again: a new inode), is scanned whole:
    // what it holds may have been written before anything watched it.
    const replaced = wasDir && key?.kind === "dir" && prev.key !== undefined && prev.key.ino !== key.ino;
    if (key?.kind === "dir" && (!wasDir || replaced)) add(stats, await this.reconcileNow(rel));
    return stats;
  }
}

/** Deletion records for entries, deepest first, so a client removes a folder's contents before the folder. */
function deletions(root: string, entries: readonly StoredEntry[]): LogWrite[] {
  return [...entries]
    .sort((a, b) => depthOf(b.path) - depthOf(a.path))
    .map((e) => ({ op: "record", root, path: e.path, state: { kind: "deleted" }, key: undefined }) as const);
}

function add(into: IndexStats, more: IndexStats): void {
  into.recorded += more.recorded;
  into.hashed += more.hashed;
  into.scanned += more.scanned;
}

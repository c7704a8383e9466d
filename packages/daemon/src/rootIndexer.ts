import { existsSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { depthOf, ErrorCode, isWirePath, ProtocolError, type EntryState } from "@zync/protocol";
import { isMassDeletion, isMissing, MASS_DELETE_MIN, SafeRoot, keyProvesUnchanged, scanTree, stateFor, statKeyOf, type IgnoreRules, type StatKey } from "@zync/node";
import type { ChangeLog, LogWrite, StoredEntry } from "./store/changeLog.js";

/** A watched root: its wire name and local folder. */
export type RootSpec = { name: string; abs: string };

const BATCH = 1000;

/** True when content, type, link target or permission bits differ; mtimes alone are not a change. */
function stateChanged(a: EntryState, b: EntryState): boolean {
  switch (a.kind) {
    case "file":
      return b.kind !== "file" || a.hash !== b.hash || a.size !== b.size || a.mode !== b.mode;
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

  constructor(log: ChangeLog, root: RootSpec, rules: IgnoreRules, warn: (msg: string) => void, guard: DeleteGuard, clock: () => number = Date.now) {
    this.clock = clock;
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

  /** Stops the retry timer of a halted root. */
  stop(): void {
    clearTimeout(this.retry);
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
    return this.serial(() => this.reconcileNow(under));
  }

  /** Re-checks the given paths (watcher hints); a directory that appears is scanned whole. */
  checkPaths(paths: readonly string[]): Promise<IndexStats> {
    return this.serial(async () => {
      const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
      const sorted = [...new Set(paths)].sort((a, b) => depthOf(a) - depthOf(b) || (a < b ? -1 : 1));
      const safe = new SafeRoot(this.root.abs);
      if (this.halted !== undefined) return stats;
      const halt = await this.batchLoss(safe, sorted);
      if (halt !== undefined) {
        this.halt(halt);
        return stats;
      }
      for (const rel of sorted) add(stats, await this.checkOne(safe, rel));
      return stats;
    });
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
    const known = under === "" ? this.log.entriesOf(name) : new Map(this.log.liveBelow(name, under).map((e) => [e.path, e]));
    const seen = new Set<string>();
    const stats: IndexStats = { recorded: 0, hashed: 0, scanned: 0 };
    let writes: LogWrite[] = [];
    const flush = (): void => {
      stats.recorded += writes.filter((w) => w.op === "record").length;
      this.log.write(writes);
      writes = [];
    };
    const unsyncable = (rel: string): void => this.warn(`not syncing ${this.root.name}/${rel}: it cannot be read, or its name cannot be sent (backslash or over-long)`);
    for await (const { path, key } of scanTree(this.root.abs, this.rules, under, unsyncable, this.clock)) {
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
    const [ignored, deleted] = await this.splitIgnored(gone);
    const liveFiles = [...known.values()].filter((e) => e.state.kind === "file").length;
    const lostFiles = deleted.filter((e) => e.state.kind === "file").length;
    let halt = this.massLoss(lostFiles, liveFiles);
    if (halt === undefined && lostFiles > 0 && under === "") {
      // The scan may have raced with a disk going away halfway through: count what is there now before deleting.
      halt = this.massLoss(Math.max(lostFiles, liveFiles - (await this.countFiles())), liveFiles);
    }
    // A halted root records neither deletions nor forgotten paths: what the scan missed may only be away for now.
    if (halt === undefined) writes.push(...ignored.map((e) => ({ op: "forget", root: name, path: e.path }) as const), ...deletions(name, deleted));
    flush();
    if (under === "") {
      if (halt !== undefined) this.halt(halt);
      else this.resume();
    }
    return stats;
  }

  /**
   * Splits entries the scan no longer saw into those still on disk but now ignored (forgotten: a new ignore
   * pattern must not delete files on the other side) and those really gone.
   */
  private async splitIgnored(gone: StoredEntry[]): Promise<[StoredEntry[], StoredEntry[]]> {
    const ignored: StoredEntry[] = [];
    const deleted: StoredEntry[] = [];
    const safe = new SafeRoot(this.root.abs);
    for (const e of gone) (await this.keyAt(safe, e.path) !== undefined ? ignored : deleted).push(e);
    return [ignored, deleted];
  }

  /** The stat key at `rel`, or undefined when nothing is there or a folder on the way is a symlink or a file. */
  private async keyAt(safe: SafeRoot, rel: string): Promise<StatKey | undefined> {
    try {
      const abs = await safe.resolve(rel);
      const takenMs = this.clock();
      return statKeyOf(await lstat(abs), takenMs);
    } catch (err) {
      if (isMissing(err) || (err instanceof ProtocolError && err.code === ErrorCode.BadPath)) return undefined;
      const code = (err as NodeJS.ErrnoException).code;
      // Present but unreadable: treated as there (so never recorded as deleted), with what the log knew.
      if (code === "EACCES" || code === "EPERM") return this.log.get(this.root.name, rel)?.key ?? { kind: "file", size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0, mode: 0, takenMs: 0 };
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
      if (isMissing(err)) return undefined;
      this.warn(`cannot read ${this.root.name}/${path}: ${(err as Error).message}`);
      return prev?.key ? { op: "touch", root: this.root.name, path, key: prev.key } : undefined;
    }
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
    const writes: LogWrite[] = [];
    const wasDir = prev?.state.kind === "dir";
    if (key === undefined || (wasDir && key.kind !== "dir")) {
      if (wasDir) writes.push(...deletions(name, this.log.liveBelow(name, rel)));
      if (key === undefined && prev !== undefined && prev.state.kind !== "deleted") writes.push(...deletions(name, [prev]));
    }
    if (key !== undefined && !keyProvesUnchanged(prev?.key, key)) {
      const w = await this.compare(rel, key, prev, stats);
      if (w) writes.push(w);
    }
    stats.recorded += writes.filter((w) => w.op === "record").length;
    this.log.write(writes);
    if (key?.kind === "dir" && !wasDir) add(stats, await this.reconcileNow(rel));
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

/**
 * Feature "git" on E, for one root in a git work tree: while git is busy in it (an index lock, a rebase, merge,
 * cherry-pick, revert or bisect in progress), the watcher's hints for the root are held instead of indexed; when
 * git is done (or the ceiling passes), everything they named is recorded as one batch. The git folder is watched
 * (an event when a marker appears or goes) and looked at on a timer besides, and HEAD is read at each look, so the
 * root's branch and commit are known too.
 */
import { existsSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { MAX_GIT_BRANCH, MAX_GIT_WAIT_REASON, type GitRootState } from "@zync/protocol";
import { GIT_MARKERS, gitBusyReason, holdDue, holdStep, type HoldState, type HoldTiming } from "./gitBusy.js";
import { readHead, type GitDirs } from "./gitHead.js";

const MARKER_NAMES = new Set(GIT_MARKERS.map((m) => m.name));

/** Paths held at most; past it, the whole root is compared with the disk when the hold ends. */
const MAX_HELD_PATHS = 100_000;

/** What a hold leaves to be recorded: the paths hints named, or the whole root. */
export type HeldPaths = readonly string[] | "all";

/** What the hold asks of the daemon. */
export type GitHoldDeps = {
  root: string;
  dirs: GitDirs;
  timing: HoldTiming;
  /** How often the git folder is looked at besides its events. */
  pollMs: number;
  clock?: () => number;
  /** Recording of the root stops now (its indexer drops what it has queued). */
  onHold(reason: string): void;
  /** The hold ended (`release`: git is done; `expire`: the ceiling passed): record `paths` as one batch. */
  onRecord(paths: HeldPaths, why: "release" | "expire", heldMs: number, reason: string): void;
  /** The root's git state changed (branch, commit, waiting). */
  onState(state: GitRootState): void;
  /**
   * Asks the watcher to hand on the hints it is still coalescing, just before a hold ends: they reach `offer` while
   * the hold lasts, so the batch takes in everything git did, without waiting out the watcher's longest delay.
   */
  flushHints?(): void;
};

/** One root's hold. */
export class GitHold {
  private readonly deps: GitHoldDeps;
  private readonly clock: () => number;
  private state: HoldState = { kind: "idle" };
  private held = new Set<string>();
  private overflow = false;
  private reason = "";
  private last: string | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private due: NodeJS.Timeout | undefined;
  private closed = false;
  private flushing = false;

  /**
   * `resumeSince` is set when the previous run of the daemon stopped during a hold of this root: that hold goes on
   * (from its start), and what changed meanwhile is recorded as one batch once git is done.
   */
  constructor(deps: GitHoldDeps, resumeSince?: number) {
    this.deps = deps;
    this.clock = deps.clock ?? Date.now;
    if (resumeSince !== undefined) {
      this.state = { kind: "holding", since: resumeSince, markers: [] };
      this.overflow = true;
      this.reason = "git was busy when the daemon stopped";
      deps.onHold(this.reason);
    }
  }

  /** Starts watching the git folder; looks at once. */
  start(): void {
    try {
      // A marker named by an event counts as present even if it is gone again by now: a fast checkout can create
      // and remove index.lock before this process looks, and its work tree events come after this one.
      this.watcher = watch(this.deps.dirs.gitDir, { persistent: false }, (_event, name) => this.check(typeof name === "string" && MARKER_NAMES.has(name) ? [name] : []));
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Only the timer then.
    }
    this.poll = setInterval(() => this.check(), this.deps.pollMs);
    this.poll.unref();
    this.check();
  }

  /** True while recording waits for git. */
  get holding(): boolean {
    return this.state.kind === "holding";
  }

  /**
   * Hints for the root: held (true) while git is busy, else left to the indexer (false). Git is looked at first,
   * so the first hints of an operation are held even before the git folder's event arrives.
   */
  offer(paths: readonly string[]): boolean {
    // Handed on by the watcher while check() asks it to (see there): held, and check() goes on from there.
    if (this.flushing) {
      this.hold(paths);
      return true;
    }
    // Hints that arrive while holding belong to the hold, even when this very look ends it (the event loop may
    // have been busy past the settle time): the batch takes them in.
    const holding = this.state.kind === "holding";
    if (holding) this.hold(paths);
    this.check();
    if (holding) return true;
    if (this.state.kind !== "holding") return false;
    this.hold(paths);
    return true;
  }

  private hold(paths: readonly string[]): void {
    for (const p of paths) {
      if (this.held.size >= MAX_HELD_PATHS) {
        this.overflow = true;
        break;
      }
      this.held.add(p);
    }
  }

  /** Hints may have been lost while holding (a watcher error): the whole root is compared when the hold ends. */
  lostHints(): void {
    if (this.state.kind === "holding") this.overflow = true;
  }

  /** Markers present in the git folder now. */
  private markers(): string[] {
    return GIT_MARKERS.map((m) => m.name).filter((name) => existsSync(join(this.deps.dirs.gitDir, name)));
  }

  /** Looks at git now and does what the hold's next step says. */
  check(seen: readonly string[] = []): void {
    if (this.closed) return;
    // While holding, the hints the watcher is still coalescing are taken in first, so a release here never leaves
    // some of git's last writes to be recorded after the batch.
    if (this.state.kind === "holding" && this.deps.flushHints !== undefined) {
      this.flushing = true;
      try {
        this.deps.flushHints();
      } finally {
        this.flushing = false;
      }
    }
    const now = this.clock();
    const present = this.markers();
    const before = this.state;
    const { state, action } = holdStep(before, present, now, this.deps.timing, seen);
    this.state = state;
    const busy = gitBusyReason(new Set(present)) ?? gitBusyReason(new Set(seen));
    if (state.kind === "holding" && busy !== undefined) this.reason = busy;
    if (action === "hold") {
      this.held = new Set();
      this.overflow = false;
      this.deps.onHold(this.reason);
    } else if (action === "release" || action === "expire") {
      const since = before.kind === "holding" ? before.since : now;
      const paths: HeldPaths = this.overflow ? "all" : [...this.held];
      this.held = new Set();
      this.overflow = false;
      this.deps.onRecord(paths, action, now - since, action === "expire" ? (busy ?? this.reason) : this.reason);
    }
    this.arm();
    this.report();
  }

  /** Looks again when the ceiling or the settle time runs out. */
  private arm(): void {
    clearTimeout(this.due);
    const at = holdDue(this.state, this.deps.timing);
    if (at === undefined) return;
    this.due = setTimeout(() => this.check(), Math.max(0, at - this.clock()) + 1);
    this.due.unref();
  }

  /** Tells the daemon the root's git state when it differs from what it was last told. */
  private report(): void {
    const head = readHead(this.deps.dirs);
    const state: GitRootState = {
      root: this.deps.root,
      branch: head?.branch !== undefined && head.branch !== null && head.branch.length <= MAX_GIT_BRANCH ? head.branch : null,
      commit: head?.commit ?? null,
      waiting: this.state.kind === "holding" ? { since: Math.max(0, Math.trunc(this.state.since)), reason: this.reason.slice(0, MAX_GIT_WAIT_REASON) } : null,
    };
    const text = JSON.stringify(state);
    if (text === this.last) return;
    this.last = text;
    this.deps.onState(state);
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.due);
  }
}

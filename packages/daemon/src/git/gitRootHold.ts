/**
 * Feature "git" wired to one served root: finds the root's git folder, runs its {@link GitHold}, and turns the
 * hold's steps into the indexer's hold and batch, the root's state on the board, and the log's sentences.
 */
import type { IgnoreRules, Logger, NamedDir } from "@zync/node";
import type { ChangeHints } from "../rootWatcher.js";
import type { RootIndexer } from "../rootIndexer.js";
import type { CookieBoard } from "../barrier/cookieBoard.js";
import type { GitStore } from "../store/gitStore.js";
import type { GitBoard } from "./gitBoard.js";
import { findGitDirs } from "./gitHead.js";
import { GitHold } from "./gitHold.js";

/** How the daemon holds roots for git. */
export type GitHoldOptions = {
  /** Longest a hold lasts, in ms; then what changed is recorded anyway (default 30 s). */
  ceilingMs?: number;
  /** Off: roots are recorded as their changes come, git or not. */
  off?: boolean;
};

/** Default ceiling of a hold. */
export const GIT_HOLD_CEILING_MS = 30_000;

/** How often a git folder is looked at besides its events. */
const GIT_POLL_MS = 250;

/** What the wiring needs from the daemon. */
export type GitRootDeps = {
  indexer: RootIndexer;
  rules: IgnoreRules;
  hints: ChangeHints;
  gitStore: GitStore;
  gitBoard: GitBoard;
  cookies: CookieBoard;
  /** The change log's head now. */
  head: () => number;
  logger: Logger;
  /** False once the daemon's database is closed. */
  isOpen: () => boolean;
};

/**
 * How long git must have been done before a hold ends. The watcher's hints of git's last writes are already
 * coalescing by then (inotify reports them before the marker's removal) or follow on the next turn (a new folder is
 * listed then); the hold asks the watcher to hand them on (`flushHints`) just before it ends, so a short wait does,
 * and an editor's `git status` (which takes `index.lock` for a moment) delays a save by about this much, not by the
 * watcher's longest delay.
 */
export const GIT_SETTLE_MS = 25;

/** A root's hold as the daemon uses it. */
export type GitRootHold = {
  /** Hints (and barrier cookies) for the root: true when they are held for the batch. */
  offer(paths: readonly string[], cookies: readonly string[]): boolean;
  lostHints(): void;
  close(): void;
};

/** Starts holding `dir` for git when it is in a git work tree; undefined otherwise (or when turned off). */
export function startGitHold(dir: NamedDir, opts: GitHoldOptions | undefined, deps: GitRootDeps): GitRootHold | undefined {
  const { indexer, logger } = deps;
  const dirs = opts?.off === true ? undefined : findGitDirs(dir.abs);
  if (dirs === undefined) {
    deps.gitStore.dropState(dir.name);
    return undefined;
  }
  const waitingBefore = deps.gitStore.states().find((s) => s.root === dir.name)?.waiting ?? undefined;
  // Barrier cookies seen while holding: passed once the batch holding what came before them is recorded.
  let heldCookies: string[] = [];
  const hold = new GitHold(
    {
      root: dir.name,
      dirs,
      timing: { ceilingMs: opts?.ceilingMs ?? GIT_HOLD_CEILING_MS, settleMs: GIT_SETTLE_MS },
      flushHints: () => deps.hints.flush?.(),
      pollMs: GIT_POLL_MS,
      onHold: (reason) => {
        indexer.holdForGit();
        logger.verbose(`${dir.name}: waiting for git (${reason})`);
      },
      onRecord: (paths, why, heldMs, reason) => {
        if (why === "expire") {
          logger.warn(`${dir.name}: git has been busy for ${Math.round(heldMs / 1000)} s (${reason}); recording its changes now without waiting longer`);
        }
        const passed = heldCookies;
        heldCookies = [];
        // Git may have changed what it tracks and the ignore files: the batch is judged by the new rules, which are
        // read (git asked off the event loop) before anything is recorded; the indexer stays held meanwhile.
        deps.rules
          .reload()
          .catch((err: unknown) => logger.warn(`reloading the ignore rules of ${dir.name} failed: ${String(err)}; the batch is judged by the rules in force`))
          .then(() => {
            deps.hints.rulesChanged?.();
            return indexer.recordBatch(paths, (first, last) => deps.gitStore.addBatch(dir.name, first, last));
          })
          .then((st) => {
            logger.verbose(`${dir.name}: recorded ${st.recorded} change(s) git made as one batch, after waiting ${Math.round(heldMs)} ms`);
            if (deps.isOpen()) for (const c of passed) deps.cookies.seen(dir.name, c, deps.head());
          })
          .catch((err: unknown) => logger.warn(`recording ${dir.name}'s batch failed: ${String(err)}`));
      },
      onState: (state) => {
        if (deps.isOpen()) deps.gitBoard.set(state);
      },
    },
    waitingBefore?.since,
  );
  hold.start();
  return {
    offer: (paths, cookies) => {
      if (!hold.offer(paths)) return false;
      heldCookies.push(...cookies);
      return true;
    },
    lostHints: () => hold.lostHints(),
    close: () => hold.close(),
  };
}

/**
 * Pure decisions of feature "git" on E: whether git is busy in a work tree, given which of its marker files exist
 * in the git folder, and what the daemon's hold of a root does next. No I/O here: every rule is a table test.
 */

/** A file or folder in the git folder whose presence means git is in the middle of something, and what. */
export type GitMarker = { name: string; reason: string };

/**
 * The markers looked for, the operations first: the reason given is that of the first one present. `index.lock`
 * alone is any command writing the index (a checkout, reset, stash, commit or a refresh by `git status`).
 */
export const GIT_MARKERS: readonly GitMarker[] = [
  { name: "rebase-merge", reason: "a rebase is in progress" },
  { name: "rebase-apply", reason: "a rebase is in progress" },
  { name: "MERGE_HEAD", reason: "a merge is in progress" },
  { name: "CHERRY_PICK_HEAD", reason: "a cherry-pick is in progress" },
  { name: "REVERT_HEAD", reason: "a revert is in progress" },
  { name: "BISECT_LOG", reason: "a bisect is in progress" },
  { name: "index.lock", reason: "git holds the index lock" },
];

/** Why git is busy given the markers present in the git folder, or undefined when it is not. */
export function gitBusyReason(present: ReadonlySet<string>): string | undefined {
  return GIT_MARKERS.find((m) => present.has(m.name))?.reason;
}

/** Where a root's hold stands. */
export type HoldState =
  /** Git is not busy; changes are recorded as they come. */
  | { kind: "idle" }
  /**
   * Recording waits for git since `since` (ms). `quietSince` is set once git stopped being busy: the hold ends
   * when that has lasted the settle time, so the watcher's last events of the operation are held too.
   */
  | { kind: "holding"; since: number; markers: readonly string[]; quietSince?: number }
  /** The ceiling passed while git stayed busy with `markers`: recording goes on; a new marker starts a new hold. */
  | { kind: "expired"; markers: readonly string[] };

/** What the hold does at a step: nothing new, start holding, release (git is done), or record anyway (ceiling). */
export type HoldAction = "none" | "hold" | "release" | "expire";

/** Times of the hold. */
export type HoldTiming = {
  /** Longest a hold lasts; then what changed is recorded anyway. */
  ceilingMs: number;
  /** How long git must have stopped being busy before the hold ends. */
  settleMs: number;
};

/**
 * The next state of a hold, given the markers present now and those an event just named (`seen`). A marker named
 * by an event but gone already (a quick checkout made and removed `index.lock` before this look) starts a hold that
 * is already settling: git is done, but the work tree events it caused may still be on their way. Once holding, only
 * what is present counts: the event of a marker's removal names it too.
 */
export function holdStep(
  state: HoldState,
  present: readonly string[],
  now: number,
  timing: HoldTiming,
  seen: readonly string[] = [],
): { state: HoldState; action: HoldAction } {
  const busy = gitBusyReason(new Set(present)) !== undefined;
  switch (state.kind) {
    case "idle":
      if (busy) return { state: { kind: "holding", since: now, markers: present }, action: "hold" };
      if (gitBusyReason(new Set(seen)) !== undefined) return { state: { kind: "holding", since: now, markers: seen, quietSince: now }, action: "hold" };
      return { state, action: "none" };
    case "holding": {
      if (busy) {
        if (now - state.since >= timing.ceilingMs) return { state: { kind: "expired", markers: present }, action: "expire" };
        return { state: { kind: "holding", since: state.since, markers: present }, action: "none" };
      }
      const quietSince = state.quietSince ?? now;
      if (now - quietSince >= timing.settleMs || now - state.since >= timing.ceilingMs) return { state: { kind: "idle" }, action: "release" };
      return { state: { kind: "holding", since: state.since, markers: state.markers, quietSince }, action: "none" };
    }
    case "expired": {
      if (!busy) return { state: { kind: "idle" }, action: "none" };
      const fresh = present.some((m) => !state.markers.includes(m));
      if (fresh) return { state: { kind: "holding", since: now, markers: present }, action: "hold" };
      return { state: { kind: "expired", markers: present }, action: "none" };
    }
  }
}

/** When the hold must be looked at again at the latest (ceiling or end of the settle time), or undefined. */
export function holdDue(state: HoldState, timing: HoldTiming): number | undefined {
  if (state.kind !== "holding") return undefined;
  const ceiling = state.since + timing.ceilingMs;
  return state.quietSince === undefined ? ceiling : Math.min(ceiling, state.quietSince + timing.settleMs);
}

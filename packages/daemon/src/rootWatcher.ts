import { lstatSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { isCookie, isMissing, isUnreadable, type IgnoreRules } from "@zync/node";

/** Timing of the watcher's coalescing. */
export type WatchTiming = {
  /** Quiet time after the last event before a batch is handed on. */
  debounceMs: number;
  /** Longest a busy path set waits before it is handed on anyway. */
  maxWaitMs: number;
};

/** A source of "these paths may have changed" hints for one root. Injected so tests can drive it. */
export type ChangeHints = {
  /**
   * Starts watching; resolves once the watcher is ready. `onPaths` gets root-relative paths ("" is the root
   * itself); a folder among them means "something in this folder changed". `onError` means hints may have been
   * lost and the whole root should be compared with the disk. `onUnwatched` names a folder that could not be
   * watched (the system's watch limit is reached); without it, the first such folder is reported to `onError`.
   */
  start(onPaths: (paths: string[]) => void, onError: (err: Error) => void, onUnwatched?: (folder: string) => void): Promise<void>;
  /** The ignore rules changed: stop watching folders they now leave out, start watching folders they let in. */
  rulesChanged?(): void;
  /** How many watches are in place, and the topmost folders that could not be watched (nothing below them is). */
  coverage?(): { watched: number; unwatched: string[] };
  /** Tries again to watch the folders that could not be watched (the limit may have been raised meanwhile). */
  rewatch?(): void;
  /** Hands on at once the hints it is coalescing (before a git hold ends, so that the batch takes them in). */
  flush?(): void;
  close(): Promise<void>;
};

/** How often a root folder that went away is looked for again. */
const ROOT_POLL_MS = 1000;

/**
 * Watches a root with one non-recursive watch per folder (inotify on Linux) and hands on the relative paths
 * that events touched, coalesced so that an editor's save burst arrives as one batch. Events are hints: the
 * indexer re-reads each path, and every event also names its folder, so the indexer can compare the whole
 * folder with the disk when a hint was lost.
 *
 * The set of watches follows the disk, not the events: every event makes the watcher look at the path and at
 * its folder again. A folder that appears, or is replaced by another folder (`rm -rf build && mkdir build`), is
 * (re)watched, then listed, and everything found in it is hinted, because it may have been written before the
 * watch was placed. (A watch belongs to a folder's inode: a folder made again under the same name is not
 * watched by its predecessor's watch, and it often gets the same inode number, so folders are known by inode
 * and birth time; chokidar 5 keeps the old folder's bookkeeping in that case and never
 * reports files written in the new one.) Symlinks are never followed.
 */
export function directoryHints(rootAbs: string, rules: IgnoreRules, timing: WatchTiming): ChangeHints {
  // A folder is known by its inode and birth time: a folder removed and made again often gets the same inode.
  const watches = new Map<string, { ino: string; watcher: FSWatcher }>();
  const identity = (st: { ino: number; birthtimeMs: number }): string => `${st.ino}:${st.birthtimeMs}`;
  let pending = new Set<string>();
  let toLook = new Set<string>();
  let lookQueued = false;
  let quiet: NodeJS.Timeout | undefined;
  let oldest: NodeJS.Timeout | undefined;
  let rootPoll: NodeJS.Timeout | undefined;
  let closed = false;
  let limitReported = false;
  let emit: (paths: string[]) => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  let unwatchable: ((folder: string) => void) | undefined;
  /** Folders whose watch the system refused (ENOSPC/EMFILE); nothing below them is watched either. */
  const unwatched = new Set<string>();
  const abs = (rel: string): string => (rel === "" ? rootAbs : `${rootAbs}/${rel}`);
  const join = (dir: string, name: string): string => (dir === "" ? name : `${dir}/${name}`);

  const flush = (): void => {
    clearTimeout(quiet);
    clearTimeout(oldest);
    quiet = oldest = undefined;
    const batch = [...pending];
    pending = new Set();
    if (batch.length > 0 && !closed) emit(batch);
  };
  const hint = (rel: string): void => {
    // A barrier cookie is ignored for syncing, but its event must come through, in order with the others.
    if (closed || (rel !== "" && !isCookie(rel) && rules.ignores(rel, false))) return;
    pending.add(rel);
    clearTimeout(quiet);
    quiet = setTimeout(flush, timing.debounceMs);
    oldest ??= setTimeout(flush, timing.maxWaitMs);
  };

  const unwatchBelow = (rel: string): void => {
    for (const dir of unwatched) if (rel === "" || dir === rel || dir.startsWith(`${rel}/`)) unwatched.delete(dir);
    for (const [dir, w] of watches) {
      if (rel === "" || dir === rel || dir.startsWith(`${rel}/`)) {
        w.watcher.close();
        watches.delete(dir);
      }
    }
  };

  /** Watches `rel` (a folder with inode `ino`), then lists it; recurses into sub-folders. */
  const watchTree = (rel: string, ino: string, hintFound: boolean): void => {
    if (closed) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(abs(rel), { persistent: true }, (_event, name) => onEvent(rel, typeof name === "string" ? name : undefined));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isMissing(err) || isUnreadable(err) || code === "ELOOP") return;
      if ((code === "ENOSPC" || code === "EMFILE") && unwatchable !== undefined) {
        unwatched.add(rel);
        unwatchable(rel);
      } else if ((code === "ENOSPC" || code === "EMFILE") && !limitReported) {
        limitReported = true;
        fail(new Error(`cannot watch ${abs(rel)}: the system's limit of watches is reached (on Linux raise fs.inotify.max_user_watches); folders beyond it are only caught up by rescans`));
      }
      return;
    }
    watcher.on("error", () => {
      watcher.close();
      if (watches.get(rel)?.watcher === watcher) watches.delete(rel);
      look(rel);
    });
    watches.set(rel, { ino, watcher });
    let names: string[];
    try {
      names = readdirSync(abs(rel));
      // The folder may have been swapped between the watch and the listing: look at it again then.
      const st = lstatSync(abs(rel));
      if (!st.isDirectory() || identity(st) !== ino) {
        look(rel);
        return;
      }
    } catch {
      look(rel);
      return;
    }
    for (const name of names) {
      const child = join(rel, name);
      if (hintFound) hint(child);
      try {
        const st = lstatSync(abs(child));
        if (st.isDirectory() && !rules.ignores(child, true)) watchTree(child, identity(st), hintFound);
      } catch {
        // Gone or unreadable already: an event or the indexer's check of the folder covers it.
      }
    }
  };

  /** Brings the watches of `rel` in line with the disk: gone, replaced or new folders. */
  const sync = (rel: string): void => {
    if (closed) return;
    let st;
    try {
      st = lstatSync(abs(rel));
    } catch {
      st = undefined;
    }
    const known = watches.get(rel);
    if (st === undefined || !st.isDirectory() || (rel !== "" && rules.ignores(rel, true))) {
      if (known !== undefined || rel === "" || unwatched.has(rel)) unwatchBelow(rel);
      if (rel === "") pollForRoot();
      return;
    }
    if (known?.ino === identity(st)) return;
    unwatchBelow(rel);
    watchTree(rel, identity(st), true);
    hint(rel);
    if (rel === "") fail(new Error(`the root folder ${rootAbs} was replaced`));
  };

  const pollForRoot = (): void => {
    if (rootPoll !== undefined || closed) return;
    rootPoll = setInterval(() => {
      if (closed) return;
      try {
        if (!lstatSync(rootAbs).isDirectory()) return;
      } catch {
        return;
      }
      clearInterval(rootPoll);
      rootPoll = undefined;
      sync("");
    }, ROOT_POLL_MS);
    rootPoll.unref();
  };

  /** Looks at paths again on the next turn (an event burst names the same paths many times). */
  const look = (rel: string): void => {
    toLook.add(rel);
    if (lookQueued) return;
    lookQueued = true;
    setImmediate(() => {
      lookQueued = false;
      const paths = [...toLook].sort((a, b) => a.length - b.length);
      toLook = new Set();
      for (const p of paths) sync(p);
    });
  };

  const onEvent = (dir: string, name: string | undefined): void => {
    if (closed) return;
    hint(dir);
    look(dir);
    if (name === undefined || name === "" || name.includes("/")) return;
    const child = join(dir, name);
    hint(child);
    look(child);
  };

  return {
    flush,
    start(onPaths, onError, onUnwatched) {
      emit = onPaths;
      fail = onError;
      unwatchable = onUnwatched;
      try {
        const st = lstatSync(rootAbs);
        if (st.isDirectory()) watchTree("", identity(st), false);
        else pollForRoot();
      } catch {
        pollForRoot();
      }
      return Promise.resolve();
    },
    rulesChanged() {
      if (closed) return;
      for (const dir of unwatched) if (dir !== "" && rules.ignores(dir, true)) unwatched.delete(dir);
      for (const dir of [...watches.keys()]) if (dir !== "" && watches.has(dir) && rules.ignores(dir, true)) unwatchBelow(dir);
      for (const dir of [...watches.keys()]) {
        let names: string[];
        try {
          names = readdirSync(abs(dir));
        } catch {
          look(dir);
          continue;
        }
        for (const name of names) {
          const child = join(dir, name);
          if (watches.has(child)) continue;
          try {
            const st = lstatSync(abs(child));
            if (st.isDirectory() && !rules.ignores(child, true)) watchTree(child, identity(st), true);
          } catch {
            // Gone already: its folder's event covers it.
          }
        }
      }
    },
    coverage() {
      return { watched: watches.size, unwatched: [...unwatched].sort() };
    },
    rewatch() {
      if (closed) return;
      for (const rel of [...unwatched].sort((a, b) => a.length - b.length)) {
        if (!unwatched.delete(rel)) continue;
        let st;
        try {
          st = lstatSync(abs(rel));
        } catch {
          // Gone: its folder's watch reported that (or, for the root, the root is looked for again).
          if (rel === "") pollForRoot();
          continue;
        }
        if (!st.isDirectory() || (rel !== "" && rules.ignores(rel, true))) continue;
        watchTree(rel, identity(st), true);
        hint(rel);
      }
    },
    close() {
      closed = true;
      clearTimeout(quiet);
      clearTimeout(oldest);
      clearInterval(rootPoll);
      unwatchBelow("");
      return Promise.resolve();
    },
  };
}

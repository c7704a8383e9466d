import { unwatchFile, watchFile, type Stats } from "node:fs";

/** How often git's index and exclude files are looked at (a stat each). */
const GIT_STATE_POLL_MS = 1000;

/**
 * Calls `onChange` when any of `files` (git's index, info/exclude, the user's excludes file) is written,
 * created or removed. They live in `.git` or outside the root, where the root's watcher does not look; a stat
 * per second each tells when `git add` or an edit of the excludes changed what is synced. Returns the stop.
 */
export function watchGitState(files: readonly string[], onChange: () => void): () => void {
  const listener = (now: Stats, before: Stats): void => {
    if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size) onChange();
  };
  for (const f of files) watchFile(f, { interval: GIT_STATE_POLL_MS, persistent: false }, listener);
  return () => {
    for (const f of files) unwatchFile(f, listener);
  };
}

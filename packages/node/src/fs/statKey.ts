/**
 * "Has this path changed since we last looked?" for both ends of zync. A stat key holds the cheap facts of a
 * path (type, size, mtime, ctime, inode, mode) and when they were taken; a stored key proves a path unchanged
 * only when every fact matches AND the key is not racy: a file changed within the timestamp granularity of the
 * moment its key was taken can change again without any fact moving, so its content must be read.
 */
import type { Stats } from "node:fs";
import { fstatSync, lstatSync } from "node:fs";

/** The cheap facts that tell whether a path may have changed without reading it. */
export type StatKey = {
  kind: "file" | "dir" | "symlink";
  size: number;
  /** Whole milliseconds: the mtime zync syncs. */
  mtimeMs: number;
  /** The inode change time, as precise as the platform gives it; nobody can set it back. */
  ctimeMs: number;
  ino: number;
  mode: number;
  /** When the facts were read (this machine's clock, ms since the epoch). */
  takenMs: number;
};

/**
 * The coarsest timestamp granularity zync expects of a filesystem (FAT keeps 2-second mtimes; ext4 with small
 * inodes, 1-second). A key whose file changed less than this before the key was taken cannot be trusted.
 */
export const TIMESTAMP_GRANULARITY_MS = 2000;

/** Returns the stat key for a path's (l)stat, or undefined for kinds zync does not sync (sockets, devices, fifos). */
export function statKeyOf(st: Stats, takenMs = Date.now()): StatKey | undefined {
  const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : undefined;
  if (kind === undefined) return undefined;
  return {
    kind,
    size: kind === "dir" ? 0 : st.size,
    mtimeMs: Math.trunc(st.mtimeMs),
    ctimeMs: st.ctimeMs,
    ino: st.ino,
    mode: st.mode & 0o777,
    takenMs,
  };
}

/** True when the facts of two keys match (when they were taken does not count). */
export function sameStatKey(a: StatKey, b: StatKey): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.mode === b.mode;
}

/**
 * True when the path changed so shortly before its key was taken that a later change could leave every fact as
 * it was (git's "racily clean" entries). Keys stored before ctime was kept (no `ctimeMs`) count as racy.
 */
export function isRacy(key: StatKey): boolean {
  if (!Number.isFinite(key.ctimeMs) || !Number.isFinite(key.takenMs)) return true;
  return !(key.takenMs - Math.max(key.mtimeMs, key.ctimeMs) >= TIMESTAMP_GRANULARITY_MS);
}

/**
 * True when a stored key proves that the path whose key is `now` still holds what it held when `stored` was
 * taken, so its content need not be read. Otherwise the content decides.
 */
export function keyProvesUnchanged(stored: StatKey | undefined, now: StatKey): boolean {
  return stored !== undefined && sameStatKey(stored, now) && !isRacy(stored);
}

/** True for "no such file" style errors. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The stat key of whatever is at `abs` now, or undefined when nothing syncable is there. */
export function statKeyAt(abs: string): StatKey | undefined {
  const takenMs = Date.now();
  try {
    return statKeyOf(lstatSync(abs), takenMs);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The stat key of an open file, read through its descriptor (so it is the key of exactly the bytes written). */
export function statKeyOfFd(fd: number): StatKey {
  const takenMs = Date.now();
  return statKeyOf(fstatSync(fd), takenMs)!;
}

/**
 * True when a path still looks as it did when its key `then` was taken, so it is safe to replace. A folder's size
 * and mtime change whenever its contents do, so for folders only identity and mode count.
 */
export function stillAsSeen(abs: string, then: StatKey | undefined): boolean {
  const now = statKeyAt(abs);
  if (now === undefined || then === undefined) return now === then;
  if (now.kind === "dir") return then.kind === "dir" && now.ino === then.ino && now.mode === then.mode;
  return sameStatKey(now, then);
}

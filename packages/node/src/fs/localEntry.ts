import type { Stats } from "node:fs";
import { lstatSync, readlinkSync } from "node:fs";
import type { EntryState } from "@zync/protocol";
import { hashFile } from "./hash.js";

/** The cheap facts that tell whether a path may have changed without reading it. */
export type StatKey = {
  kind: "file" | "dir" | "symlink";
  size: number;
  mtimeMs: number;
  ino: number;
  mode: number;
};

/** Returns the stat key for a path's lstat, or undefined for kinds zync does not sync (sockets, devices, fifos). */
export function statKeyOf(st: Stats): StatKey | undefined {
  const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : undefined;
  if (kind === undefined) return undefined;
  return { kind, size: kind === "dir" ? 0 : st.size, mtimeMs: Math.trunc(st.mtimeMs), ino: st.ino, mode: st.mode & 0o777 };
}

/** True when two stat keys match, so the content can be assumed unchanged. */
export function sameStatKey(a: StatKey, b: StatKey): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.mode === b.mode;
}

/** A path's full state (content hash included) and its stat key. */
export type LocalEntry = { state: EntryState; key: StatKey | undefined };

/** Reads a path's state, hashing it when it is a file. A missing path, or an unsyncable kind, is "deleted". */
export async function readLocalEntry(absPath: string): Promise<LocalEntry> {
  let st: Stats;
  try {
    st = lstatSync(absPath);
  } catch (err) {
    if (isMissing(err)) return { state: { kind: "deleted" }, key: undefined };
    throw err;
  }
  const key = statKeyOf(st);
  if (key === undefined) return { state: { kind: "deleted" }, key: undefined };
  return { state: await stateFor(absPath, key), key };
}

/** Builds the state for a path whose stat key is known; hashes files and reads link targets. */
export async function stateFor(absPath: string, key: StatKey): Promise<EntryState> {
  switch (key.kind) {
    case "dir":
      return { kind: "dir", mode: key.mode };
    case "symlink":
      return { kind: "symlink", target: readlinkSync(absPath) };
    case "file": {
      const { hash, size } = await hashFile(absPath);
      return { kind: "file", hash, size, mode: key.mode, mtimeMs: key.mtimeMs };
    }
  }
}

/** True for "no such file" style errors. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The stat key of whatever is at `abs` now, or undefined when nothing syncable is there. */
export function statKeyAt(abs: string): StatKey | undefined {
  try {
    return statKeyOf(lstatSync(abs));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
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

/** Small disk operations that put one entry in place or take it away, shared by both directions. */
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import type { EntryState } from "@zync/protocol";
import { CONFLICT_INFIX } from "./ignoreRules.js";
import type { SafeRoot } from "./safePath.js";
import { statKeyAt, type StatKey } from "./statKey.js";
import { setMtime, writeSymlinkAtomic, type TempFile } from "./tempFile.js";

/** Thrown when a folder to be removed still holds files the other side does not know; the folder is kept. */
export class FolderNotEmptyError extends Error {
  override name = "FolderNotEmptyError";
}

/** Removes whatever is at `abs` (file, link, or an empty folder). Missing is fine. */
export async function removeLocal(abs: string, local: EntryState): Promise<void> {
  try {
    if (local.kind === "dir") rmdirSync(abs);
    else if (local.kind !== "deleted") unlinkSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw new FolderNotEmptyError(`${abs} still holds files`);
    throw err;
  }
}

/** Creates a folder (or keeps the existing one) and sets its permission bits. */
export async function placeDir(abs: string, mode: number): Promise<void> {
  try {
    mkdirSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  chmodSync(abs, mode & 0o777);
}

/** Replaces whatever is at `abs` with a symlink to `target`, atomically. */
export async function placeSymlink(rootAbs: string, abs: string, target: string): Promise<void> {
  await writeSymlinkAtomic(rootAbs, target, abs);
}

/** Sets a file's permission bits and mtime in place (content already matches). */
export async function retouchFile(abs: string, mode: number, mtimeMs: number): Promise<void> {
  chmodSync(abs, mode & 0o777);
  await setMtime(abs, mtimeMs);
}

/** Moves the copy at `abs` aside as `NAME.zync-conflict-YYYYMMDD-HHMMSS` and returns the new path. */
export async function moveAside(abs: string, now = new Date()): Promise<string> {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  let target = `${abs}${CONFLICT_INFIX}${stamp}`;
  for (let n = 2; ; n++) {
    try {
      // rename would replace an existing copy, so find a free name first.
      lstatSync(target);
      target = `${abs}${CONFLICT_INFIX}${stamp}-${n}`;
    } catch {
      break;
    }
  }
  renameSync(abs, target);
  return target;
}

/**
 * Puts `target` at `rel` (`abs`, resolved inside `root`) in place of what is there now (`local`), and returns the
 * stat key of what it placed (undefined for a deletion). A file comes from `content`, a finished temp file that is
 * renamed into place; without content, the file there already holds the bytes and only its mode and mtime are
 * set. A folder in the way of a file or link is removed only when empty (FolderNotEmptyError otherwise); a file
 * or link in the way is replaced in one rename. Throws a BAD_PATH ProtocolError when a file or link stands where
 * a folder on the way should be. What to do about either is the caller's policy.
 */
export async function placeState(root: SafeRoot, rel: string, abs: string, local: EntryState, target: EntryState, content?: TempFile): Promise<StatKey | undefined> {
  const clearFolder = async (): Promise<void> => {
    if (local.kind !== "dir") return;
    await removeLocal(abs, local);
    root.forget(rel);
  };
  switch (target.kind) {
    case "deleted":
      await removeLocal(abs, local);
      root.forget(rel);
      return undefined;
    case "dir":
      if (local.kind !== "dir") await removeLocal(abs, local);
      await root.ensureParent(rel);
      await placeDir(abs, target.mode);
      return statKeyAt(abs);
    case "symlink":
      await clearFolder();
      await root.ensureParent(rel);
      await placeSymlink(root.root, abs, target.target);
      return statKeyAt(abs);
    case "file":
      if (content === undefined) {
        await retouchFile(abs, target.mode, target.mtimeMs);
        return statKeyAt(abs);
      }
      await clearFolder();
      await root.ensureParent(rel);
      await content.commit(abs);
      return content.key;
  }
}

/** Flushes a folder's entries (the renames, creations and removals made in it) to disk. */
export async function syncFolder(abs: string): Promise<void> {
  const fd = openSync(abs, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

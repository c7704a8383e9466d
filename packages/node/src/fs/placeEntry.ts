/** Small disk operations that put one entry in place or take it away, shared by both directions. */
import { chmodSync, lstatSync, mkdirSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import type { EntryState } from "@zync/protocol";
import { CONFLICT_INFIX } from "./ignoreRules.js";
import { setMtime, writeSymlinkAtomic } from "./tempFile.js";

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

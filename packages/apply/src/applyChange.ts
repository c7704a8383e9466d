import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { ReviewedChange, StagingStore } from "@zync/daemon";
import { copyToTemp, dropTempDirIfEmpty, FolderNotEmptyError, hashFile, placeDir, placeSymlink, removeLocal, SafeRoot, stillAsSeen } from "@zync/node";
import { ErrorCode, ProtocolError, type FileState } from "@zync/protocol";

/** What happened when one change was applied. */
export type ApplyResult =
  /** Written (or already identical). `replaced` names where E's overwritten content was kept, if any. */
  | { status: "applied"; replaced?: string }
  /** E's path changed after it was reviewed; nothing was written. */
  | { status: "changed-on-E" }
  /** The change removes a folder on E that still holds files; nothing was written. */
  | { status: "folder-not-empty" };

/**
 * Keeps E's file, about to be overwritten, at `target`: copied to a temp file, checked against the hash the review
 * saw, and renamed into place, so a copy that exists is always whole. Returns undefined when E's file no longer
 * has that content (it changed after the review).
 */
async function keepCopy(target: string, abs: string, current: FileState): Promise<string | undefined> {
  if (existsSync(target) && (await hashFile(target)).hash === current.hash) return target;
  const folder = dirname(target);
  await mkdir(folder, { recursive: true });
  const temp = await copyToTemp(folder, abs, current, true);
  if (temp === undefined) return undefined;
  await temp.commit(target);
  await dropTempDirIfEmpty(folder);
  return target;
}

/**
 * Writes one staged change into E's folder, atomically, after checking that E's path is still what the review
 * showed. When it overwrites E's own edit (a conflict resolved in R's favour), E's file is first kept in the
 * session's folder. The daemon's watcher then records the result like any other change.
 */
export async function applyChange(staging: StagingStore, sessionId: number, rootAbs: string, change: ReviewedChange): Promise<ApplyResult> {
  const root = new SafeRoot(rootAbs);
  let abs: string;
  try {
    abs = await root.resolve(change.path);
  } catch (err) {
    // A symlink or file now stands on the way (perhaps placed by an earlier change of this session): never write through it.
    if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) return { status: "changed-on-E" };
    throw err;
  }
  if (!stillAsSeen(abs, change.currentKey)) return { status: "changed-on-E" };
  if (change.decision === "record" || change.decision === "keep") return { status: "applied" };

  let replaced: string | undefined;
  const current = change.current;
  if (change.decision === "conflict" && current.kind === "file") {
    replaced = await keepCopy(staging.replacedPath(sessionId, current.hash), abs, current);
    if (replaced === undefined) return { status: "changed-on-E" };
  }
  const state = change.state;
  try {
    switch (state.kind) {
      case "deleted":
        await removeLocal(abs, current);
        break;
      case "dir":
        if (current.kind !== "dir") await removeLocal(abs, current);
        await root.ensureParent(change.path);
        await placeDir(abs, state.mode);
        break;
      case "symlink":
        if (current.kind === "dir") await removeLocal(abs, current);
        await root.ensureParent(change.path);
        await placeSymlink(rootAbs, abs, state.target);
        break;
      case "file": {
        const temp = await copyToTemp(rootAbs, staging.blobPath(sessionId, state.hash), state, true);
        if (temp === undefined) throw new Error(`the staged content of ${change.path} is missing or damaged`);
        try {
          if (current.kind === "dir") await removeLocal(abs, current);
          await root.ensureParent(change.path);
          await temp.commit(abs);
        } catch (err) {
          await temp.discard();
          throw err;
        }
        break;
      }
    }
  } catch (err) {
    if (err instanceof FolderNotEmptyError) return { status: "folder-not-empty" };
    throw err;
  }
  return replaced === undefined ? { status: "applied" } : { status: "applied", replaced };
}

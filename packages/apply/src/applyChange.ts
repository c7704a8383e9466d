import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { AppliedPaths, type ReviewedChange, type StagingStore, type VersionStore } from "@zync/daemon";
import { copyToTemp, dropTempDirIfEmpty, FolderNotEmptyError, hashFile, placeDir, placeState, SafeRoot, stillAsSeen, syncFolder, type TempFile } from "@zync/node";
import { ErrorCode, ProtocolError, type EntryState, type FileState } from "@zync/protocol";

/** Where E's previous version of a file an apply overwrote or deleted is kept. */
export type KeptVersion = { hash: string; path: string };

/** What happened when one change was applied. */
export type ApplyResult =
  /** Written (or already identical). `kept` says where E's overwritten or deleted file was kept, if there was one. */
  | { status: "applied"; kept?: KeptVersion }
  /** E's path changed after it was reviewed; nothing was written. */
  | { status: "changed-on-E" }
  /** The change removes a folder on E that still holds files; nothing was written. */
  | { status: "folder-not-empty" };

/**
 * Keeps E's file, about to be overwritten or deleted, at `target`: copied to a temp file, checked against the hash
 * the review saw, flushed, and renamed into place, its folder flushed too, so a copy that exists is always whole
 * and survives a power cut. A copy already there (the same content kept before, by this session or a killed run
 * of it) is used as it is. Returns undefined when E's file no longer has that content (it changed after the review).
 */
async function keepCopy(target: string, abs: string, current: FileState): Promise<string | undefined> {
  const folder = dirname(target);
  if (existsSync(target) && (await hashFile(target)).hash === current.hash) {
    await syncFolder(folder);
    return target;
  }
  const made = !existsSync(folder);
  await mkdir(folder, { recursive: true });
  const temp = await copyToTemp(folder, abs, current, true);
  if (temp === undefined) return undefined;
  await temp.commit(target);
  await dropTempDirIfEmpty(folder);
  await syncFolder(folder);
  if (made) await syncFolder(dirname(folder));
  return target;
}

/** True when writing `state` over `current` loses a file's content (it is overwritten by other bytes, or removed). */
function losesContent(current: EntryState, state: EntryState): current is FileState {
  return current.kind === "file" && !(state.kind === "file" && state.hash === current.hash);
}

/** Where an apply finds the new content and keeps what it replaces, besides the session's folder. */
export type ApplyPlaces = {
  /** Also keeps every version of E's it replaces or deletes (the bases of later merges). */
  versions?: VersionStore;
  /** The new content, when it is not R's staged file (a merge). Must hold `change.state.hash`. */
  contentPath?: string;
};

/**
 * Writes one staged change into E's folder, atomically, after checking that E's path is still what the review
 * showed. When it overwrites or deletes a file of E's, that file is first kept in the session's folder (see
 * {@link keepCopy}). Before E's path is touched, the store notes what E held there, what is written (for undo)
 * and which copy was kept, so the next run finishes a run killed at any point; once the change is on E its folder
 * is flushed, and only then does the caller record the outcome. The daemon's watcher then records the result like any other change.
 */
export async function applyChange(staging: StagingStore, sessionId: number, rootAbs: string, change: ReviewedChange, places: ApplyPlaces = {}, pid = process.pid): Promise<ApplyResult> {
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
  const { current, state } = change;
  if (change.decision === "keep") return { status: "applied" };
  if (change.decision === "record") {
    // A killed run may have made the folder and not yet set its mode (a folder's mode is not part of its content).
    if (change.placing !== null && state.kind === "dir") await placeDir(abs, state.mode);
    return { status: "applied" };
  }

  let kept: KeptVersion | undefined;
  if (losesContent(current, state)) {
    const path = await keepCopy(staging.replacedPath(sessionId, current.hash), abs, current);
    if (path === undefined) return { status: "changed-on-E" };
    kept = { hash: current.hash, path };
    // The kept copy was checked against the hash; the store checks it again before keeping it.
    if (places.versions !== undefined) await places.versions.putFile(current.hash, path);
  }
  // What E held and what is written are noted with the placement, before E is touched, for undo.
  const written = AppliedPaths.of(staging.db);
  staging.db
    .transaction(() => {
      written.noteWrite(sessionId, change.path, current, state, places.contentPath === undefined ? "applied" : "merged");
      staging.notePlacing(sessionId, change.path, current, kept?.hash ?? null, pid);
    })
    .immediate();
  let content: TempFile | undefined;
  if (state.kind === "file") {
    content = await copyToTemp(rootAbs, places.contentPath ?? staging.blobPath(sessionId, state.hash), state, true);
    if (content === undefined) throw new Error(`the staged content of ${change.path} is missing or damaged`);
  }
  try {
    await placeState(root, change.path, abs, current, state, content);
  } catch (err) {
    if (err instanceof FolderNotEmptyError) return { status: "folder-not-empty" };
    throw err;
  } finally {
    await content?.discard();
  }
  await syncFolder(dirname(abs));
  return kept === undefined ? { status: "applied" } : { status: "applied", kept };
}

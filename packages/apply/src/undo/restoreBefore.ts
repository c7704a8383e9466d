import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { AppliedPath, StagingStore, VersionStore } from "@zync/daemon";
import { copyToTemp, FolderNotEmptyError, hashFile, placeState, stillAsSeen, syncFolder, TempFile, type LocalEntry, type SafeRoot } from "@zync/node";
import type { EntryState, FileState } from "@zync/protocol";

/** Where undo finds E's earlier content and keeps what it replaces. */
export type UndoPlaces = {
  staging: StagingStore;
  versions: VersionStore;
  /** Notes, durably, that E's path is about to be touched (called once everything is ready, just before). */
  beforeTouching(): void;
};

/** What putting E's earlier state back at one path came to. */
export type RestoreResult = "restored" | "changed-on-E" | "folder-not-empty" | "missing";

/** True when E's earlier content of a file is at hand: in the version store, or among the session's kept copies. */
export function haveEarlierContent(places: UndoPlaces, sessionId: number, hash: string): boolean {
  return places.versions.has(hash) || existsSync(places.staging.replacedPath(sessionId, hash));
}

/** E's earlier content as a finished temp file in E's root (mode `before`'s, mtime now), checked by hash. */
async function earlierContent(rootAbs: string, places: UndoPlaces, sessionId: number, before: FileState): Promise<TempFile | undefined> {
  const expect = { hash: before.hash, mode: before.mode, mtimeMs: Date.now() };
  const stream = places.versions.open(before.hash);
  if (stream !== undefined) {
    const temp = await TempFile.create(rootAbs);
    try {
      for await (const chunk of stream) await temp.write(chunk as Buffer);
      if ((await temp.finish({ ...expect, fsync: true })).hash === before.hash) return temp;
    } catch {
      // a damaged stored copy: the session's kept copy may still be whole
    }
    await temp.discard();
  }
  const kept = places.staging.replacedPath(sessionId, before.hash);
  return existsSync(kept) ? copyToTemp(rootAbs, kept, expect, true) : undefined;
}

/** True when E's path still holds exactly what was read (`seen`), its content hashed again, not judged by stat alone. */
async function stillHolds(abs: string, seen: LocalEntry): Promise<boolean> {
  if (!stillAsSeen(abs, seen.key)) return false;
  if (seen.state.kind !== "file") return true;
  try {
    return (await hashFile(abs)).hash === seen.state.hash && stillAsSeen(abs, seen.key);
  } catch {
    return false;
  }
}

/**
 * Puts E's earlier state (`row.before`) back at one path over what E holds now (`seen`, which the caller found to
 * be what the apply wrote, or the gap of a killed undo). What it overwrites or removes is first kept in the
 * version store, so an undo loses nothing either. The new content is written to a temp file in E's root,
 * flushed, checked by hash, and renamed into place only after E's file was hashed again and found unchanged;
 * the folder is flushed after. Nothing is touched when E changed meanwhile.
 */
export async function restoreBefore(root: SafeRoot, abs: string, row: AppliedPath, seen: LocalEntry, places: UndoPlaces): Promise<RestoreResult> {
  const { before } = row;
  const current = seen.state;
  const sameBytes = before.kind === "file" && current.kind === "file" && current.hash === before.hash;
  if (current.kind === "file" && !sameBytes) {
    if (!(await places.versions.putFile(current.hash, abs))) return "changed-on-E";
  }
  let content: TempFile | undefined;
  if (before.kind === "file" && !sameBytes) {
    content = await earlierContent(root.root, places, row.sessionId, before);
    if (content === undefined) return "missing";
  }
  try {
    if (!(await stillHolds(abs, seen))) return "changed-on-E";
    places.beforeTouching();
    // A file whose bytes E holds already only gets its permission bits back (its mtime stays).
    const target: EntryState = sameBytes && current.kind === "file" ? { ...before, mtimeMs: current.mtimeMs } : before;
    await placeState(root, row.path, abs, current, target, content);
  } catch (err) {
    if (err instanceof FolderNotEmptyError) return "folder-not-empty";
    throw err;
  } finally {
    await content?.discard();
  }
  await syncFolder(dirname(abs));
  return "restored";
}

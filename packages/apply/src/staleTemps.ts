import { readdirSync, rmSync } from "node:fs";
import { EDIT_DIR_PREFIX } from "./merge/editMerge.js";
import type { StagingStore } from "@zync/daemon";
import { clearTempDir, dropTempDirIfEmpty, TEMP_DIR } from "@zync/node";
import { pidAlive } from "./reviewLease.js";

/**
 * Removes what a killed zync-apply left half-written: its temp files in E's root (named after their process, so
 * only those of processes that no longer run are removed; another zync-apply may be writing there) and in the
 * session's folder of kept copies and the folders of merges a person was editing (only the holder of the
 * session's review lease, the caller, writes there). Nothing in a temp folder was ever at a final name.
 */
export async function clearStaleTemps(staging: StagingStore, sessionId: number, rootAbs: string, alive: (pid: number) => boolean = pidAlive): Promise<void> {
  await clearTempDir(`${staging.sessionDir(sessionId)}/replaced`);
  let edits: string[] = [];
  try {
    edits = readdirSync(staging.sessionDir(sessionId)).filter((name) => name.startsWith(EDIT_DIR_PREFIX));
  } catch {
    // No session folder yet: nothing was edited.
  }
  for (const name of edits) rmSync(`${staging.sessionDir(sessionId)}/${name}`, { force: true, recursive: true });
  const dir = `${rootAbs}/${TEMP_DIR}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(`${dir}/${name}`, { force: true, recursive: true });
  }
  await dropTempDirIfEmpty(rootAbs);
}

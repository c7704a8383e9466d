import { lstatSync, type Stats } from "node:fs";
import { readdir } from "node:fs/promises";
import { isWirePath } from "@zync/protocol";
import type { IgnoreRules } from "./ignoreRules.js";
import { isUnreadable } from "./openForReading.js";
import { isMissing, statKeyOf, type StatKey } from "./statKey.js";

/** One path found by a scan, with the facts that tell whether it changed. */
export type ScannedEntry = { path: string; key: StatKey };

/** Why a scan left a path out. */
export type SkipReason = "unreadable" | "special" | "unsendable-name";

/** True for errors that mean "this is not (any more) a path the walk can go through": gone, a file, a link loop. */
function isGoneOnTheWay(err: unknown): boolean {
  return isMissing(err) || (err as NodeJS.ErrnoException | undefined)?.code === "ELOOP";
}

/**
 * Walks a root depth-first without following symlinks, yielding every non-ignored file, directory and link
 * (parents before children). The tree may change under the walk (a folder replaced by a file or a link, removed,
 * made unreadable): such entries are skipped, never an error, and the watcher reports them. A folder is listed
 * only while it is still the folder its parent's listing showed (a folder swapped for a symlink is not read
 * through). Paths left out for good reasons go to `onUnsyncable`: folders this user may not read, FIFOs, sockets
 * and devices, and names that cannot be a wire path. `clock` stamps each key with when it was taken (injected by
 * tests that need keys old enough to be trusted).
 */
export async function* scanTree(
  rootAbs: string,
  rules: IgnoreRules,
  under = "",
  onUnsyncable: (rel: string, why: SkipReason) => void = () => undefined,
  clock: () => number = Date.now,
): AsyncGenerator<ScannedEntry> {
  const stack: { rel: string; ino: number | undefined }[] = [{ rel: under, ino: undefined }];
  while (stack.length > 0) {
    const { rel: dirRel, ino } = stack.pop()!;
    const dirAbs = dirRel === "" ? rootAbs : `${rootAbs}/${dirRel}`;
    let names: string[];
    try {
      names = await readdir(dirAbs);
      // readdir follows a symlink: a folder swapped for one (or for another folder) since it was listed is not read.
      if (ino !== undefined) {
        const st = lstatSync(dirAbs);
        if (!st.isDirectory() || st.ino !== ino) continue;
      }
    } catch (err) {
      if (isGoneOnTheWay(err)) continue;
      // A folder this user may not read is left out (and said so), instead of stopping every scan.
      if (isUnreadable(err)) {
        onUnsyncable(dirRel, "unreadable");
        continue;
      }
      throw err;
    }
    names.sort();
    const subdirs: { rel: string; ino: number }[] = [];
    for (const name of names) {
      const rel = dirRel === "" ? name : `${dirRel}/${name}`;
      if (!isWirePath(rel)) {
        // A name that cannot travel (a backslash in it, say) is left out rather than breaking every pull.
        onUnsyncable(rel, "unsendable-name");
        continue;
      }
      let st: Stats;
      const takenMs = clock();
      try {
        st = lstatSync(`${dirAbs}/${name}`);
      } catch (err) {
        if (isGoneOnTheWay(err)) continue;
        if (isUnreadable(err)) {
          onUnsyncable(rel, "unreadable");
          continue;
        }
        throw err;
      }
      const key = statKeyOf(st, takenMs);
      if (key === undefined) {
        if (!rules.ignores(rel, false)) onUnsyncable(rel, "special");
        continue;
      }
      if (rules.ignores(rel, key.kind === "dir")) continue;
      yield { path: rel, key };
      if (key.kind === "dir") subdirs.push({ rel, ino: key.ino });
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

import { lstatSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { isWirePath } from "@zync/protocol";
import type { IgnoreRules } from "./ignoreRules.js";
import { isMissing, statKeyOf, type StatKey } from "./statKey.js";

/** One path found by a scan, with the facts that tell whether it changed. */
export type ScannedEntry = { path: string; key: StatKey };

/**
 * Walks a root depth-first without following symlinks, yielding every non-ignored file, directory and link
 * (parents before children). Entries that vanish during the walk are skipped; the watcher reports them. Names
 * that cannot be a wire path are skipped and passed to `onUnsyncable`. `clock` stamps each key with when it was
 * taken (injected by tests that need keys old enough to be trusted).
 */
export async function* scanTree(
  rootAbs: string,
  rules: IgnoreRules,
  under = "",
  onUnsyncable: (rel: string) => void = () => undefined,
  clock: () => number = Date.now,
): AsyncGenerator<ScannedEntry> {
  const stack: string[] = [under];
  while (stack.length > 0) {
    const dirRel = stack.pop()!;
    const dirAbs = dirRel === "" ? rootAbs : `${rootAbs}/${dirRel}`;
    let names: string[];
    try {
      names = await readdir(dirAbs);
    } catch (err) {
      if (isMissing(err)) continue;
      const code = (err as NodeJS.ErrnoException).code;
      // A folder this user may not read is left out (and said so), instead of stopping every scan.
      if (code === "EACCES" || code === "EPERM") {
        onUnsyncable(dirRel);
        continue;
      }
      throw err;
    }
    names.sort();
    const subdirs: string[] = [];
    for (const name of names) {
      const rel = dirRel === "" ? name : `${dirRel}/${name}`;
      if (!isWirePath(rel)) {
        // A name that cannot travel (a backslash in it, say) is left out rather than breaking every pull.
        onUnsyncable(rel);
        continue;
      }
      let key: StatKey | undefined;
      try {
        const takenMs = clock();
        key = statKeyOf(lstatSync(`${dirAbs}/${name}`), takenMs);
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      if (key === undefined || rules.ignores(rel, key.kind === "dir")) continue;
      yield { path: rel, key };
      if (key.kind === "dir") subdirs.push(rel);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

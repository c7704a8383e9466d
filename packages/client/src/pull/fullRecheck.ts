/**
 * The first half of `--full`: every file and link R received from E is read again (hashed, whatever its stat
 * says) and compared with what R recorded. A path whose content differs loses its stat key, so no later look at
 * its stat can take it for unchanged: the pull that follows (a full comparison with E's manifest) keeps it as R's
 * edit, or flags a conflict when E changed it too, and `--update-upstream` offers it. Dropping keys and setting
 * the comparison flag are all it writes (the placing journal is left to the pull's recovery), so a run killed at
 * any point leaves nothing half done, and the next `--full` finds the same paths.
 */
import { isMissing, loadIgnoreRules, SafeRoot, statKeyAt, stateFor, type IgnoreRules, type Logger, type NamedDir } from "@zync/node";
import { ErrorCode, ProtocolError } from "@zync/protocol";
import type { ClientStore } from "../store/clientStore.js";
import { recheckVerdict } from "./pullPlan.js";
import { withIntendedMode } from "./rootTraits.js";

/** What the re-read of one root found. */
export type RecheckResult = {
  /** Files and links read again. */
  read: number;
  /** Paths whose content differs from what R last received, now R's edits. */
  changed: string[];
};

/** Re-reads one root's received files against their bases and marks those that differ as R's edits. */
export async function recheckRoot(store: ClientStore, name: string, root: SafeRoot, rules: IgnoreRules): Promise<RecheckResult> {
  const traits = store.traits(name);
  const result: RecheckResult = { read: 0, changed: [] };
  // What a killed run was placing is the pull's recovery to settle (R may hold E's new content there).
  const placing = new Set(store.placing(name).map((p) => p.path));
  for (const base of store.bases(name)) {
    if (base.state.kind !== "file" && base.state.kind !== "symlink") continue;
    if (placing.has(base.path)) continue;
    if (rules.ignores(base.path, false)) continue;
    let local;
    try {
      const abs = await root.resolve(base.path);
      const key = statKeyAt(abs);
      if (key === undefined) continue;
      local = withIntendedMode(await stateFor(abs, key), traits, base.state);
    } catch (err) {
      // Gone, or a file stands where a folder on the way was: the pull sees that by its stat, as it always does.
      if (isMissing(err) || (err instanceof ProtocolError && err.code === ErrorCode.BadPath)) continue;
      throw err;
    }
    result.read++;
    if (recheckVerdict(base.state, local) !== "changed") continue;
    result.changed.push(base.path);
  }
  store.forgetKeys(name, result.changed);
  // The comparison with E's whole manifest follows: the flag stays set until that pull has finished.
  store.requestResync(name);
  return result;
}

/** Re-reads every root of a `--full` run; names each changed path (as root/path) and returns them. */
export async function recheckRoots(store: ClientStore, dirs: readonly NamedDir[], ignore: readonly string[], logger: Logger): Promise<string[]> {
  const changed: string[] = [];
  let read = 0;
  for (const d of dirs) {
    const found = await recheckRoot(store, d.name, new SafeRoot(d.abs), loadIgnoreRules(d.abs, ignore));
    read += found.read;
    for (const p of found.changed) {
      changed.push(`${d.name}/${p}`);
      logger.warn(`${d.name}/${p} differs from what R last received from E (changed behind zync's back, or damaged on disk): kept as R's edit; --update-upstream offers it`);
    }
  }
  logger.info(`full check: read ${read} file(s) again; ${changed.length} differ from what R last received`);
  return changed;
}

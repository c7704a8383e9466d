import { lstat } from "node:fs/promises";
import { depthOf, sameContent, type UpstreamChange } from "@zync/protocol";
import { isMissing, isRacy, keyProvesUnchanged, scanTree, stateFor, type IgnoreRules, type StatKey } from "@zync/node";
import { withIntendedMode } from "../pull/rootTraits.js";
import type { ClientStore } from "../store/clientStore.js";

/**
 * Lists what R changed in one root since it last received each path from E: additions (no base), edits,
 * mode changes, and deletions (a base with nothing left on disk), each with the base it was made from. A file
 * whose stat facts still match its base is not read. On a root that keeps no permission bits, the fixed mode the
 * filesystem reports is not an edit. A base whose name a case-insensitive root finds under another spelling is
 * still there, so case folding never produces a deletion. Deletions come last, deepest first. Files read and
 * found unchanged get fresh keys in the store, so the next scan does not read them again.
 */
export async function scanUpstream(store: ClientStore, name: string, rootAbs: string, rules: IgnoreRules, clock: () => number = Date.now): Promise<UpstreamChange[]> {
  const bases = new Map(store.bases(name).map((b) => [b.path, b]));
  const traits = store.traits(name);
  const fresh: { path: string; hash: string; key: StatKey }[] = [];
  const changes: UpstreamChange[] = [];
  for await (const { path, key } of scanTree(rootAbs, rules, "", undefined, clock)) {
    const base = bases.get(path);
    bases.delete(path);
    if (keyProvesUnchanged(base?.key, key)) continue;
    let state;
    try {
      state = await stateFor(`${rootAbs}/${path}`, key);
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    state = withIntendedMode(state, traits, base?.state);
    if (base !== undefined && sameContent(base.state, state)) {
      if (state.kind === "file" && !isRacy(key)) fresh.push({ path, hash: state.hash, key });
      continue;
    }
    changes.push({ path, base: base?.state ?? null, state });
  }
  const deleted: UpstreamChange[] = [];
  for (const b of bases.values()) {
    if (b.state.kind === "deleted") continue;
    try {
      await lstat(`${rootAbs}/${b.path}`);
      continue; // still there, only ignored or not syncable now: not a deletion
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    deleted.push({ path: b.path, base: b.state, state: { kind: "deleted" } });
  }
  deleted.sort((a, b) => depthOf(b.path) - depthOf(a.path));
  store.refreshKeys(name, fresh);
  return [...changes, ...deleted];
}

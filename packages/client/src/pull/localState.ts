import type { EntryState } from "@zync/protocol";
import { isMissing, keyProvesUnchanged, stateFor, statKeyAt, stillAsSeen, type SafeRoot, type StatKey } from "@zync/node";
import type { BaseEntry } from "../store/clientStore.js";

/** What R holds at a path now, and the stat facts it was read with (undefined when absent). */
export type LocalView = { abs: string; state: EntryState; key: StatKey | undefined };

/**
 * Reads what R holds at `rel`. When the stat facts still match those stored with the base, the base state is
 * taken without reading the file; otherwise the file is hashed.
 */
export async function readLocal(root: SafeRoot, rel: string, base: BaseEntry | undefined): Promise<LocalView> {
  const abs = await root.resolve(rel);
  const key = statKeyAt(abs);
  if (key === undefined) return { abs, state: { kind: "deleted" }, key };
  if (base !== undefined && keyProvesUnchanged(base.key, key)) return { abs, state: base.state, key };
  try {
    return { abs, state: await stateFor(abs, key), key };
  } catch (err) {
    if (isMissing(err)) return { abs, state: { kind: "deleted" }, key: undefined };
    throw err;
  }
}

/** True when the path still looks as it did when it was read, so it is safe to replace. */
export async function unchangedSince(view: LocalView): Promise<boolean> {
  return stillAsSeen(view.abs, view.key);
}

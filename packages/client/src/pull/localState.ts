import { lstatSync } from "node:fs";
import type { EntryState } from "@zync/protocol";
import { isMissing, sameStatKey, stateFor, statKeyOf, type SafeRoot, type StatKey } from "@zync/node";
import type { BaseEntry } from "../store/clientStore.js";

/** What R holds at a path now, and the stat facts it was read with (undefined when absent). */
export type LocalView = { abs: string; state: EntryState; key: StatKey | undefined };

/** lstat facts for a local path, or undefined when nothing syncable is there. */
export async function statKeyAt(abs: string): Promise<StatKey | undefined> {
  try {
    return statKeyOf(lstatSync(abs));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Reads what R holds at `rel`. When the stat facts still match those stored with the base, the base state is
 * taken without reading the file; otherwise the file is hashed.
 */
export async function readLocal(root: SafeRoot, rel: string, base: BaseEntry | undefined): Promise<LocalView> {
  const abs = await root.resolve(rel);
  const key = await statKeyAt(abs);
  if (key === undefined) return { abs, state: { kind: "deleted" }, key };
  if (base?.key !== undefined && sameStatKey(base.key, key)) return { abs, state: base.state, key };
  try {
    return { abs, state: await stateFor(abs, key), key };
  } catch (err) {
    if (isMissing(err)) return { abs, state: { kind: "deleted" }, key: undefined };
    throw err;
  }
}

/** True when the path still looks as it did when it was read, so it is safe to replace. */
export async function unchangedSince(view: LocalView): Promise<boolean> {
  const now = await statKeyAt(view.abs);
  if (now === undefined || view.key === undefined) return now === view.key;
  // A folder's size and mtime change whenever its contents do (this run deletes and adds inside it).
  if (now.kind === "dir") return view.key.kind === "dir" && now.ino === view.key.ino && now.mode === view.key.mode;
  return sameStatKey(now, view.key);
}

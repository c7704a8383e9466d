import type { Stats } from "node:fs";
import { lstatSync, readlinkSync } from "node:fs";
import type { EntryState } from "@zync/protocol";
import { hashFile } from "./hash.js";
import { isMissing, statKeyOf, type StatKey } from "./statKey.js";

/** A path's full state (content hash included) and its stat key. */
export type LocalEntry = { state: EntryState; key: StatKey | undefined };

/** Reads a path's state, hashing it when it is a file. A missing path, or an unsyncable kind, is "deleted". */
export async function readLocalEntry(absPath: string): Promise<LocalEntry> {
  let st: Stats;
  try {
    st = lstatSync(absPath);
  } catch (err) {
    if (isMissing(err)) return { state: { kind: "deleted" }, key: undefined };
    throw err;
  }
  const key = statKeyOf(st);
  if (key === undefined) return { state: { kind: "deleted" }, key: undefined };
  return { state: await stateFor(absPath, key), key };
}

/** Builds the state for a path whose stat key is known; hashes files and reads link targets. */
export async function stateFor(absPath: string, key: StatKey): Promise<EntryState> {
  switch (key.kind) {
    case "dir":
      return { kind: "dir", mode: key.mode };
    case "symlink":
      return { kind: "symlink", target: readlinkSync(absPath) };
    case "file": {
      const { hash, size } = await hashFile(absPath);
      return { kind: "file", hash, size, mode: key.mode, mtimeMs: key.mtimeMs };
    }
  }
}


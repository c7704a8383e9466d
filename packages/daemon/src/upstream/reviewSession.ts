import { decide, ErrorCode, ProtocolError, type Decision, type EntryState } from "@zync/protocol";
import { readLocalEntry, SafeRoot, type StatKey } from "@zync/node";
import type { StagedChange, StagingStore } from "./stagingStore.js";

/** A staged change judged against what E holds now. */
export type ReviewedChange = StagedChange & {
  /** What E holds at the path now. */
  current: EntryState;
  /** E's stat facts when it was read, to notice a change between review and apply. */
  currentKey: StatKey | undefined;
  /** `record`: E already holds R's version; `apply`: E is untouched since R's base; `conflict`: both changed. */
  decision: Decision;
  /** Set when a folder on the way to the path is a symlink or a file on E, so nothing may be written there. */
  blocked?: string;
};

/** Judges one change against E's current content at that path. */
export async function reviewChange(root: SafeRoot, change: StagedChange): Promise<ReviewedChange> {
  try {
    const abs = await root.resolve(change.path);
    const { state, key } = await readLocalEntry(abs);
    return { ...change, current: state, currentKey: key, decision: decide(change.state, change.base ?? undefined, state) };
  } catch (err) {
    if (!(err instanceof ProtocolError && err.code === ErrorCode.BadPath)) throw err;
    return { ...change, current: { kind: "deleted" }, currentKey: undefined, decision: "conflict", blocked: err.message };
  }
}

/** Judges every change of a session against E's folder for its root. */
export async function reviewSession(staging: StagingStore, id: number, rootAbs: string): Promise<ReviewedChange[]> {
  const root = new SafeRoot(rootAbs);
  const out: ReviewedChange[] = [];
  for (const c of staging.changes(id)) out.push(await reviewChange(root, c));
  return out;
}

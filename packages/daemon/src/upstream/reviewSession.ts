import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { decide, ErrorCode, linkLeavesRoot, ProtocolError, type Decision, type EntryState } from "@zync/protocol";
import { mayWidenIgnores, readLocalEntry, SafeRoot, type IgnoreRules, type StatKey } from "@zync/node";
import { isIgnoreFile, unservedReason } from "./servedPaths.js";
import type { StagedChange, StagingStore } from "./stagingStore.js";

/** A staged change judged against what E holds now. */
export type ReviewedChange = StagedChange & {
  /** What E holds at the path now. */
  current: EntryState;
  /** E's stat facts when it was read, to notice a change between review and apply. */
  currentKey: StatKey | undefined;
  /** `record`: E already holds R's version; `apply`: E is untouched since R's base; `conflict`: both changed, or flagged. */
  decision: Decision;
  /** Set when a folder on the way to the path is a symlink or a file on E, so nothing may be written there. */
  blocked?: string;
  /** Set when E will never hold this change: a path E does not serve, or a name E's filesystem cannot hold. */
  refused?: string;
  /** Why this change is a conflict although E did not change the path: a link that leads out of the root. */
  flagged?: string;
  /** Set when applying the change could widen what E serves (an ignore file): only a person may confirm it. */
  confirm?: string;
};

/** Largest ignore file read to judge a change to it; a larger one is treated as a widening. */
const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

/** Reads a small text file, or undefined when it is missing, not a regular file, or too large to judge. */
function readSmallText(abs: string): string | undefined {
  try {
    const st = lstatSync(abs);
    if (!st.isFile() || st.size > MAX_IGNORE_FILE_BYTES) return undefined;
    return readFileSync(abs, "utf8");
  } catch {
    return undefined;
  }
}

/** Errors that mean E's filesystem cannot hold the name at all, whatever E holds. */
const UNNAMEABLE: Readonly<Record<string, string>> = {
  ENAMETOOLONG: "the name is too long for E's filesystem",
  EILSEQ: "E's filesystem cannot hold this name (invalid characters)",
  EINVAL: "E's filesystem cannot hold this name",
};

/** What a review needs beyond the change: the session's other states, the rules E serves by, its staged content. */
export type ReviewScope = {
  /** Every path of the session and the state it will have once applied. */
  sessionStates: ReadonlyMap<string, EntryState>;
  /** E's ignore rules for the root, or undefined to skip that check. */
  rules: IgnoreRules | undefined;
  /** Where the staged content with a hash is. */
  blobPath(hash: string): string;
};

/** The target of a link at `rel`, as the tree will be once the session is applied: its own change, else E's. */
function linkTargetIn(rootAbs: string, scope: ReviewScope): (rel: string) => string | undefined {
  return (rel) => {
    const staged = scope.sessionStates.get(rel);
    if (staged !== undefined) return staged.kind === "symlink" ? staged.target : undefined;
    try {
      const abs = `${rootAbs}/${rel}`;
      return lstatSync(abs).isSymbolicLink() ? readlinkSync(abs) : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * True when what stands on E where a folder on the way to `rel` should be is a file or link that this session
 * itself replaces with a folder (R turned a file into a folder).
 */
function replacedByFolder(rootAbs: string, rel: string, scope: ReviewScope): boolean {
  const segments = rel.split("/");
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join("/");
    let isDir: boolean;
    try {
      isDir = lstatSync(`${rootAbs}/${prefix}`).isDirectory();
    } catch {
      return false;
    }
    if (isDir) continue;
    return scope.sessionStates.get(prefix)?.kind === "dir";
  }
  return false;
}

/** Judges one change against E's current content at that path. Never throws for something about the path itself. */
export async function reviewChange(root: SafeRoot, change: StagedChange, scope?: ReviewScope): Promise<ReviewedChange> {
  const refusedBy = scope?.rules && unservedReason(scope.rules, change);
  // Not even looked at on E: the review of a path E does not serve must not depend on what is there.
  if (refusedBy !== undefined) return { ...change, current: { kind: "deleted" }, currentKey: undefined, decision: "conflict", refused: refusedBy };
  let reviewed: ReviewedChange;
  try {
    const abs = await root.resolve(change.path);
    const { state, key } = await readLocalEntry(abs);
    reviewed = { ...change, current: state, currentKey: key, decision: decide(change.state, change.base ?? undefined, state) };
  } catch (err) {
    const unnameable = UNNAMEABLE[(err as NodeJS.ErrnoException).code ?? ""];
    if (unnameable !== undefined) return { ...change, current: { kind: "deleted" }, currentKey: undefined, decision: "conflict", refused: `${change.path}: ${unnameable}` };
    const badPath = err instanceof ProtocolError && err.code === ErrorCode.BadPath;
    if (badPath && scope !== undefined && replacedByFolder(root.root, change.path, scope)) {
      // The file of E's in the way becomes a folder by this same session; that change clears the way (or, if E's
      // file changed too, is a conflict itself, and this path then stays pending at apply).
      const current: EntryState = { kind: "deleted" };
      reviewed = { ...change, current, currentKey: undefined, decision: decide(change.state, change.base ?? undefined, current) };
    } else {
      const why = badPath ? err.message : `E cannot read this path (${(err as NodeJS.ErrnoException).code ?? "error"})`;
      return { ...change, current: { kind: "deleted" }, currentKey: undefined, decision: "conflict", blocked: why };
    }
  }
  if (scope === undefined || reviewed.decision === "record" || reviewed.decision === "keep") return reviewed;
  const { state } = change;
  if (state.kind === "symlink" && linkLeavesRoot(change.path, state.target, linkTargetIn(root.root, scope))) {
    reviewed = { ...reviewed, decision: "conflict", flagged: `the link leads out of the root (-> ${state.target})` };
  }
  if (isIgnoreFile(change.path)) {
    const before = reviewed.current.kind === "file" ? readSmallText(`${root.root}/${change.path}`) : undefined;
    const after = state.kind === "file" ? readSmallText(scope.blobPath(state.hash)) : undefined;
    const unreadable = (reviewed.current.kind === "file" && before === undefined) || (state.kind === "file" && after === undefined) || state.kind === "symlink";
    if (unreadable || mayWidenIgnores(before, after)) {
      reviewed = { ...reviewed, decision: "conflict", confirm: `${change.path} is an ignore file, and R's version may make E serve paths it leaves out now` };
    }
  }
  return reviewed;
}

/** Judges every change of a session against E's folder for its root (and E's ignore rules, when given). */
export async function reviewSession(staging: StagingStore, id: number, rootAbs: string, rules?: IgnoreRules): Promise<ReviewedChange[]> {
  const root = new SafeRoot(rootAbs);
  const changes = staging.changes(id);
  const scope: ReviewScope = {
    sessionStates: new Map(changes.map((c) => [c.path, c.state])),
    rules,
    blobPath: (hash) => staging.blobPath(id, hash),
  };
  const out: ReviewedChange[] = [];
  for (const c of changes) out.push(await reviewChange(root, c, scope));
  return out;
}

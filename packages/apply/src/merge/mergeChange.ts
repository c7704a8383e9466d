import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ReviewedChange } from "@zync/daemon";
import { hashBytes, mergeThreeWay, type MergeOutcome } from "@zync/node";
import { resolveInside, type FileState } from "@zync/protocol";
import type { ReviewContext } from "../reviewContext.js";

/** Largest file zync-apply reads to merge; a larger one is offered today's choices only. */
export const MAX_MERGE_BYTES = 8 * 1024 * 1024;

/** The three versions of a conflicting file, read from E's disk, the session's staged content and the version store. */
export type MergeSides = { base: Buffer; e: Buffer; r: Buffer };

/** A merge worked out for one change: what it gives, and the sides it came from (to show each side's changes). */
export type MergePlan = { outcome: MergeOutcome; sides?: MergeSides };

async function readIfHash(abs: string, hash: string): Promise<Buffer | undefined> {
  try {
    const bytes = await readFile(abs);
    return (await hashBytes(bytes)) === hash ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Works out the merge of a conflicting change: E's current file and R's staged file merged against the base R
 * started from, looked up in E's version store by the hash the change names. Only for a file on both sides
 * with a file as base; anything else says why no merge is offered.
 */
export async function planMerge(ctx: ReviewContext, sessionId: number, rootAbs: string, c: ReviewedChange): Promise<MergePlan> {
  const unavailable = (reason: string): MergePlan => ({ outcome: { kind: "unavailable", reason } });
  if (c.current.kind !== "file" || c.state.kind !== "file") return unavailable("a merge needs a file on both E and R");
  if (c.base?.kind !== "file") return unavailable("R's change does not start from a file E had");
  if (c.blocked !== undefined) return unavailable(c.blocked);
  if (c.current.size > MAX_MERGE_BYTES || c.state.size > MAX_MERGE_BYTES) return unavailable("the file is too large to merge");
  const e = await readIfHash(resolveInside(rootAbs, c.path), c.current.hash);
  if (e === undefined) return unavailable("E's file changed after it was reviewed");
  const r = await readIfHash(ctx.staging.blobPath(sessionId, c.state.hash), c.state.hash);
  if (r === undefined) return unavailable("R's staged content is missing or damaged");
  const base = await ctx.versions.get(c.base.hash);
  const outcome = mergeThreeWay(base, e, r);
  return base === undefined ? { outcome } : { outcome, sides: { base, e, r } };
}

/**
 * Stages merged content in the session's folder (temp + rename, named by its hash) and returns the change to
 * apply in place of R's: the same path, R's mode, the merged content.
 */
export async function stageMerged(ctx: ReviewContext, sessionId: number, c: ReviewedChange & { state: FileState }, bytes: Buffer): Promise<ReviewedChange & { state: FileState }> {
  const hash = await hashBytes(bytes);
  const target = join(ctx.staging.sessionDir(sessionId), "merged", hash);
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.tmp-${randomBytes(6).toString("hex")}`;
  await writeFile(temp, bytes, { flush: true });
  await rename(temp, target);
  return { ...c, state: { ...c.state, hash, size: bytes.byteLength, mtimeMs: Date.now() } };
}

/** Where {@link stageMerged} put merged content. */
export function mergedPath(ctx: ReviewContext, sessionId: number, hash: string): string {
  return join(ctx.staging.sessionDir(sessionId), "merged", hash);
}

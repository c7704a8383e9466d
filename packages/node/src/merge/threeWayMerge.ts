import { diff3Merge } from "node-diff3";

/** What a 3-way merge of E's and R's versions of a file against their common base gives. */
export type MergeOutcome =
  /** The two sets of changes do not overlap: `bytes` holds both. */
  | { kind: "clean"; bytes: Buffer }
  /** Some changes overlap (or touch): `overlaps` regions need a person. Nothing is written for these unasked. */
  | { kind: "overlap"; overlaps: number; regions: MergeRegion[] }
  /** No merge can be offered; `reason` says why, as a sentence a person reads. */
  | { kind: "unavailable"; reason: string };

/** A stretch of the merge: taken as both sides agree, or an overlap with each side's text (and the base's). */
export type MergeRegion = { kind: "ok"; text: string } | { kind: "overlap"; base: string; e: string; r: string };

/** Which side's text a person took for one overlap. */
export type Side = "e" | "r";

/** How far into a file a NUL byte marks it as binary (the same rule as git's). */
const BINARY_PROBE_BYTES = 8000;

/** True when the bytes look binary: a NUL byte among the first {@link BINARY_PROBE_BYTES}. */
export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.byteLength, BINARY_PROBE_BYTES);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * Splits into lines, each keeping its own terminator ("\n", so "\r\n" too), a last line without one kept as it
 * is. Read as latin1, one character per byte, so joining the lines gives back exactly the bytes.
 */
function linesOf(bytes: Uint8Array): string[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1").match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Merges E's and R's versions of a text file against `base`, the version both started from, line by line. Clean
 * exactly when `git merge-file` is: changes to the same lines, or to lines next to each other, overlap (unless
 * both sides made the same change); a line's terminator is part of it, so a side that changed line endings
 * changed every line. Binary content, or a missing base, gives no merge.
 */
export function mergeThreeWay(base: Uint8Array | undefined, e: Uint8Array, r: Uint8Array): MergeOutcome {
  if (base === undefined) return { kind: "unavailable", reason: "the version both sides started from is not in E's version store" };
  if (looksBinary(base) || looksBinary(e) || looksBinary(r)) return { kind: "unavailable", reason: "the file is binary" };
  const blocks = diff3Merge(linesOf(e), linesOf(base), linesOf(r), { excludeFalseConflicts: true });
  const regions: MergeRegion[] = blocks.map((block) =>
    block.conflict !== undefined
      ? { kind: "overlap", base: block.conflict.o.join(""), e: block.conflict.a.join(""), r: block.conflict.b.join("") }
      : { kind: "ok", text: (block.ok ?? []).join("") },
  );
  const overlaps = regions.filter((x) => x.kind === "overlap").length;
  if (overlaps > 0) return { kind: "overlap", overlaps, regions };
  return { kind: "clean", bytes: Buffer.from(regions.map((x) => (x.kind === "ok" ? x.text : "")).join(""), "latin1") };
}

/**
 * The merge with each overlap settled by a person: `picks[i]` names the side whose text the i-th overlap takes.
 * Undefined when `picks` does not name one side for every overlap.
 */
export function pickSides(regions: readonly MergeRegion[], picks: readonly Side[]): Buffer | undefined {
  let i = 0;
  const out: string[] = [];
  for (const region of regions) {
    if (region.kind === "ok") {
      out.push(region.text);
      continue;
    }
    const pick = picks[i++];
    if (pick === undefined) return undefined;
    out.push(pick === "e" ? region.e : region.r);
  }
  return i === picks.length ? Buffer.from(out.join(""), "latin1") : undefined;
}

import type { MergeRegion } from "@zync/node";

/** The marker lines written around each overlap, as `git merge-file --diff3` writes them (E's side first). */
export const CONFLICT_MARKERS = { e: "<<<<<<< E", base: "||||||| base", split: "=======", r: ">>>>>>> R" } as const;

/** Line endings counted in latin1 text (one character per byte). */
function countEndings(text: string): { crlf: number; lf: number } {
  const crlf = text.match(/\r\n/g)?.length ?? 0;
  return { crlf, lf: (text.match(/\n/g)?.length ?? 0) - crlf };
}

/** The line ending the marker lines get: CRLF when most of the file's lines end so, LF otherwise. */
function markerEnding(regions: readonly MergeRegion[]): "\r\n" | "\n" {
  let crlf = 0;
  let lf = 0;
  for (const region of regions) {
    for (const text of region.kind === "ok" ? [region.text] : [region.e, region.base, region.r]) {
      const n = countEndings(text);
      crlf += n.crlf;
      lf += n.lf;
    }
  }
  return crlf > lf ? "\r\n" : "\n";
}

/**
 * The merge as a file for a person to edit: the regions both sides agree on byte for byte, and each overlap as
 * E's lines, the base's and R's between marker lines. Regions are latin1 text (one character per byte, as
 * {@link MergeRegion} holds them), so every byte of the file comes back as it was. The marker lines end as most
 * of the file's lines do (CRLF stays CRLF). A side whose last line has no line ending (the end of the file) gets
 * one before the next marker line, as git does, so a marker always starts a line.
 */
export function renderConflictMarkers(regions: readonly MergeRegion[]): Buffer {
  const eol = markerEnding(regions);
  const ended = (text: string): string => (text === "" || text.endsWith("\n") ? text : `${text}${eol}`);
  const out: string[] = [];
  for (const region of regions) {
    if (region.kind === "ok") {
      out.push(region.text);
      continue;
    }
    // Text before an overlap always ends a line (only a file's last line has no ending); a side may not.
    out.push(CONFLICT_MARKERS.e, eol, ended(region.e), CONFLICT_MARKERS.base, eol, ended(region.base), CONFLICT_MARKERS.split, eol, ended(region.r), CONFLICT_MARKERS.r, eol);
  }
  return Buffer.from(out.join(""), "latin1");
}

/** A marker line found in an edited merge: 1-based line number and which marker it is. */
export type MarkerLine = { line: number; marker: string };

/**
 * The lines of `bytes` that start with a conflict marker: seven `<`, `|`, `=` or `>` followed by a space or the
 * end of the line (git's rule, so `<<<<<<<<` or `====== x` are ordinary text). Only at line starts.
 */
export function findConflictMarkers(bytes: Uint8Array): MarkerLine[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const found: MarkerLine[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    const m = /^(<{7}|\|{7}|={7}|>{7})(?:[ \t]|\r?$)/.exec(line);
    if (m?.[1] !== undefined) found.push({ line: i + 1, marker: m[1] });
  }
  return found;
}

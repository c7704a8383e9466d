import { describe, expect, test } from "@jest/globals";
import { mergeCandidate, mergeVerdict, type MergeFacts } from "@zync/client";
import { mergeThreeWay } from "@zync/node";
import type { EntryState } from "@zync/protocol";
import { DELETED, dirState, fileState, H1, H2, H3 } from "../../helpers/states.js";

const BIG = 8 * 1024 * 1024 + 1;
const FIVE = "line1\nline2\nline3\nline4\nline5\n";

type CandidateRow = [what: string, remote: EntryState, base: EntryState | undefined, local: EntryState, versionsAgreed: boolean, expected: string];

describe("mergeCandidate: which conflicts are worth fetching the base for, and why not", () => {
  const rows: CandidateRow[] = [
    ["a file edited on both sides, the daemon serves versions", fileState(H2), fileState(H1), fileState(H3), true, `fetch ${H1}`],
    ["the daemon does not offer stored versions", fileState(H2), fileState(H1), fileState(H3), false, "no: E's daemon does not offer stored versions (feature versions), so the version both sides started from cannot be fetched"],
    ["R deleted the file E changed", fileState(H2), fileState(H1), DELETED, true, "no: R deleted the file"],
    ["E deleted the file R edited", DELETED, fileState(H1), fileState(H3), true, "no: E deleted the file"],
    ["R put a folder where the file was", fileState(H2), fileState(H1), dirState(), true, "no: R's path is not a file"],
    ["both created the file (no base)", fileState(H2), undefined, fileState(H3), true, "no: the path was not a file when R last received it"],
    ["the base was a folder", fileState(H2), dirState(), fileState(H3), true, "no: the path was not a file when R last received it"],
    ["E's version is over 8 MiB", fileState(H2, { size: BIG }), fileState(H1), fileState(H3), true, "no: the file is too large to merge (over 8 MiB)"],
    ["R's version is over 8 MiB", fileState(H2), fileState(H1), fileState(H3, { size: BIG }), true, "no: the file is too large to merge (over 8 MiB)"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, versionsAgreed, expected) => {
    const facts: MergeFacts = { remote, base, local, versionsAgreed };
    const got = mergeCandidate(facts);
    expect(got.kind === "fetch" ? `fetch ${got.baseHash}` : `no: ${got.reason}`).toBe(expected);
  });
});

type VerdictRow = [what: string, base: string | undefined, e: string, r: string, expected: string];

describe("mergeVerdict: what the merge on R gives, or why the path stays a conflict", () => {
  const rows: VerdictRow[] = [
    ["E changed line 1, R line 5", FIVE, FIVE.replace("line1", "line1 E"), FIVE.replace("line5", "line5 R"), "merged: line1 E/line2/line3/line4/line5 R/"],
    ["both changed line 3", FIVE, FIVE.replace("line3", "line3 E"), FIVE.replace("line3", "line3 R"), "no: R's and E's edits overlap (1 place)"],
    ["two overlapping places", FIVE, FIVE.replace("line1", "1E").replace("line5", "5E"), FIVE.replace("line1", "1R").replace("line5", "5R"), "no: R's and E's edits overlap (2 places)"],
    ["a binary file", "a\0b\n", "a\0b\nE\n", "R\na\0b\n", "no: the file is binary"],
    ["E no longer has the base", undefined, "x E\n", "x R\n", "no: the version both sides started from is not in E's version store"],
  ];
  test.each(rows)("%s", (_what, base, e, r, expected) => {
    const got = mergeVerdict(mergeThreeWay(base === undefined ? undefined : Buffer.from(base), Buffer.from(e), Buffer.from(r)));
    expect(got.kind === "merged" ? `merged: ${got.bytes.toString().replace(/\n/g, "/")}` : `no: ${got.reason}`).toBe(expected);
  });
});

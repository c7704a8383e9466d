import { describe, expect, test } from "@jest/globals";
import { editorCommand, findConflictMarkers, mergeThreeWay, renderConflictMarkers, type MergeRegion } from "@zync/apply";

const ok = (text: string): MergeRegion => ({ kind: "ok", text });
const overlap = (e: string, base: string, r: string): MergeRegion => ({ kind: "overlap", e, base, r });

describe("writing a merge with conflict markers for a person to edit", () => {
  test.each<[string, MergeRegion[], string]>([
    ["one overlap between agreed lines, with the base between E's and R's", [ok("a\n"), overlap("b E\n", "b\n", "b R\n"), ok("c\n")], "a\n<<<<<<< E\nb E\n||||||| base\nb\n=======\nb R\n>>>>>>> R\nc\n"],
    ["a CRLF file: the marker lines end in CRLF too", [ok("a\r\n"), overlap("b E\r\n", "b\r\n", "b R\r\n"), ok("c\r\n")], "a\r\n<<<<<<< E\r\nb E\r\n||||||| base\r\nb\r\n=======\r\nb R\r\n>>>>>>> R\r\nc\r\n"],
    ["mostly CRLF with one LF line: CRLF markers, the LF line kept as it is", [ok("a\r\nx\n"), overlap("b E\r\n", "b\r\n", "b R\r\n")], "a\r\nx\n<<<<<<< E\r\nb E\r\n||||||| base\r\nb\r\n=======\r\nb R\r\n>>>>>>> R\r\n"],
    ["a last line without an ending gets one, so each marker starts a line", [ok("a\n"), overlap("b E", "b", "b R")], "a\n<<<<<<< E\nb E\n||||||| base\nb\n=======\nb R\n>>>>>>> R\n"],
    ["a side that removed the lines is empty between its markers", [ok("a\n"), overlap("", "b\n", "b R\n"), ok("c\n")], "a\n<<<<<<< E\n||||||| base\nb\n=======\nb R\n>>>>>>> R\nc\n"],
    ["both added at the end: an empty base", [ok("a\n"), overlap("e\n", "", "r\n")], "a\n<<<<<<< E\ne\n||||||| base\n=======\nr\n>>>>>>> R\n"],
    ["two overlaps, the text between them byte for byte", [overlap("1E\n", "1\n", "1R\n"), ok("\t2 \n"), overlap("3E\n", "3\n", "3R\n")], "<<<<<<< E\n1E\n||||||| base\n1\n=======\n1R\n>>>>>>> R\n\t2 \n<<<<<<< E\n3E\n||||||| base\n3\n=======\n3R\n>>>>>>> R\n"],
    ["no overlap: the merge as it is, no markers", [ok("a\nb\n")], "a\nb\n"],
  ])("%s", (_title, regions, expected) => {
    expect(renderConflictMarkers(regions).toString("latin1")).toBe(expected);
  });

  test("bytes that are not UTF-8 come back exactly, from a real merge", () => {
    const base = Buffer.from([0x61, 0x0a, 0xe9, 0x0a, 0x63, 0x0a]);
    const e = Buffer.from([0x61, 0x0a, 0xe9, 0x45, 0x0a, 0x63, 0x0a]);
    const r = Buffer.from([0x61, 0x0a, 0xe9, 0x52, 0xff, 0x0a, 0x63, 0x0a]);
    const outcome = mergeThreeWay(base, e, r);
    if (outcome.kind !== "overlap") throw new Error(`expected an overlap, got ${outcome.kind}`);
    const expected = Buffer.concat([
      Buffer.from("a\n<<<<<<< E\n"),
      Buffer.from([0xe9, 0x45, 0x0a]),
      Buffer.from("||||||| base\n"),
      Buffer.from([0xe9, 0x0a]),
      Buffer.from("=======\n"),
      Buffer.from([0xe9, 0x52, 0xff, 0x0a]),
      Buffer.from(">>>>>>> R\nc\n"),
    ]);
    expect(renderConflictMarkers(outcome.regions)).toEqual(expected);
  });

  test("what is written holds exactly four marker lines per overlap, found again by the check", () => {
    const written = renderConflictMarkers([ok("a\r\n"), overlap("b E\r\n", "b\r\n", "b R\r\n"), ok("c\r\n"), overlap("d E", "d", "d R")]);
    expect(findConflictMarkers(written).map((m) => m.line)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });
});

describe("finding conflict markers left in an edited merge", () => {
  test.each<[string, string, [number, string][]]>([
    ["none in plain text", "a\nb\n", []],
    ["an empty file", "", []],
    ["a start marker with its label", "a\n<<<<<<< E\nb\n", [[2, "<<<<<<<"]]],
    ["each of the four kinds, bare", "<<<<<<<\n|||||||\n=======\n>>>>>>>\n", [[1, "<<<<<<<"], [2, "|||||||"], [3, "======="], [4, ">>>>>>>"]]],
    ["CRLF line endings", "x\r\n=======\r\n>>>>>>> R\r\n", [[2, "======="], [3, ">>>>>>>"]]],
    ["a marker on the last line, without an ending", "x\n>>>>>>> R", [[2, ">>>>>>>"]]],
    ["a tab after the marker", "|||||||\tbase\n", [[1, "|||||||"]]],
    ["eight characters are ordinary text", "<<<<<<<< x\n========\n", []],
    ["six characters are ordinary text", "<<<<<< x\n======\n", []],
    ["not at the start of a line", " <<<<<<< E\nx =======\n", []],
    ["a marker run on into a word", "=======x\n>>>>>>>R\n", []],
    ["mixed marker characters are not a marker", "<<<<===\n", []],
  ])("%s", (_title, text, expected) => {
    expect(findConflictMarkers(Buffer.from(text, "latin1")).map((m) => [m.line, m.marker])).toEqual(expected);
  });
});

describe("which editor opens a merge", () => {
  test.each<[string, NodeJS.ProcessEnv, string]>([
    ["VISUAL before EDITOR", { VISUAL: "code --wait", EDITOR: "nano" }, "code --wait"],
    ["EDITOR when VISUAL is unset", { EDITOR: "nano -w" }, "nano -w"],
    ["an empty VISUAL is skipped", { VISUAL: "", EDITOR: "nano" }, "nano"],
    ["blank settings are skipped, vi at last", { VISUAL: "  ", EDITOR: "\t" }, "vi"],
    ["nothing set: vi", {}, "vi"],
    ["surrounding blanks are dropped, inner quoting kept", { EDITOR: "  '/opt/my editor/bin/ed' -x " }, "'/opt/my editor/bin/ed' -x"],
  ])("%s", (_title, env, command) => {
    expect(editorCommand(env)).toBe(command);
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { looksBinary, mergeThreeWay, pickSides } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

type Row = { name: string; base: string | undefined; e: string; r: string; expected: "clean" | "overlap" | "unavailable"; merged?: string };

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

const ROWS: Row[] = [
  { name: "edits far apart", base: FIVE, e: FIVE.replace("line1", "line1 E"), r: FIVE.replace("line5", "line5 R"), expected: "clean", merged: "line1 E\nline2\nline3\nline4\nline5 R\n" },
  { name: "edits one unchanged line apart", base: FIVE, e: FIVE.replace("line1", "line1 E"), r: FIVE.replace("line3", "line3 R"), expected: "clean", merged: "line1 E\nline2\nline3 R\nline4\nline5\n" },
  { name: "edits on adjacent lines", base: FIVE, e: FIVE.replace("line2", "line2 E"), r: FIVE.replace("line3", "line3 R"), expected: "overlap" },
  { name: "edits to the same line", base: FIVE, e: FIVE.replace("line3", "line3 E"), r: FIVE.replace("line3", "line3 R"), expected: "overlap" },
  { name: "the same edit on both sides", base: FIVE, e: FIVE.replace("line3", "same"), r: FIVE.replace("line3", "same"), expected: "clean", merged: FIVE.replace("line3", "same") },
  { name: "E deletes a block R edited", base: FIVE, e: "line1\nline5\n", r: FIVE.replace("line3", "line3 R"), expected: "overlap" },
  { name: "E deletes a block R left alone, next to R's edit", base: FIVE, e: "line1\nline2\nline5\n", r: FIVE.replace("line2", "line2 R"), expected: "overlap" },
  { name: "E deletes a block far from R's edit", base: `${FIVE}line6\nline7\n`, e: "line1\nline2\nline5\nline6\nline7\n", r: `${FIVE}line6\nline7 R\n`, expected: "clean", merged: "line1\nline2\nline5\nline6\nline7 R\n" },
  { name: "both add different lines at the end", base: FIVE, e: `${FIVE}from E\n`, r: `${FIVE}from R\n`, expected: "overlap" },
  { name: "E turned LF into CRLF while R edited a line", base: FIVE, e: FIVE.replaceAll("\n", "\r\n"), r: FIVE.replace("line5", "line5 R"), expected: "overlap" },
  { name: "both sides CRLF, edits far apart", base: FIVE.replaceAll("\n", "\r\n"), e: FIVE.replace("line1", "line1 E").replaceAll("\n", "\r\n"), r: FIVE.replace("line5", "line5 R").replaceAll("\n", "\r\n"), expected: "clean", merged: "line1 E\r\nline2\r\nline3\r\nline4\r\nline5 R\r\n" },
  { name: "no trailing newline, edits far apart", base: "a\nb\nc\nd\ne", e: "a E\nb\nc\nd\ne", r: "a\nb\nc\nd\ne R", expected: "clean", merged: "a E\nb\nc\nd\ne R" },
  { name: "one side adds the trailing newline, the other edits the last line", base: "a\nb\nc", e: "a\nb\nc\n", r: "a\nb\nc R", expected: "overlap" },
  { name: "a binary file", base: "a\0b\n", e: "a\0b E\n", r: "a\0b\nR\n", expected: "unavailable" },
  { name: "a missing base", base: undefined, e: FIVE.replace("line1", "line1 E"), r: FIVE.replace("line5", "line5 R"), expected: "unavailable" },
];

/** What `git merge-file -p` makes of the same three versions: clean (exit 0) with its output, or not. */
function gitMergeFile(base: string, e: string, r: string): { clean: boolean; out: string } {
  const dir = tempDir("zync-merge-");
  writeFileSync(`${dir}/base`, base, "latin1");
  writeFileSync(`${dir}/e`, e, "latin1");
  writeFileSync(`${dir}/r`, r, "latin1");
  const run = spawnSync("git", ["merge-file", "-p", `${dir}/e`, `${dir}/base`, `${dir}/r`], { encoding: "latin1" });
  if (run.error) throw run.error;
  return { clean: run.status === 0, out: run.stdout };
}

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");

describe("a 3-way merge of E's and R's versions against their base", () => {
  test.each(ROWS)("$name: $expected", ({ base, e, r, expected, merged }) => {
    const got = mergeThreeWay(base === undefined ? undefined : bytes(base), bytes(e), bytes(r));
    expect(got.kind).toBe(expected);
    if (got.kind === "clean") expect(got.bytes.toString("latin1")).toBe(merged);
  });

  test.each(ROWS.filter((row) => row.base !== undefined && !looksBinary(bytes(row.base))))("$name: clean exactly when git merge-file is, with the same result", ({ base, e, r }) => {
    const git = gitMergeFile(base!, e, r);
    const got = mergeThreeWay(bytes(base!), bytes(e), bytes(r));
    expect(got.kind === "clean").toBe(git.clean);
    if (got.kind === "clean") expect(got.bytes.toString("latin1")).toBe(git.out);
  });

  test("bytes that are not UTF-8 come through the merge unchanged", () => {
    const got = mergeThreeWay(Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a, 0x63, 0x0a]), Buffer.from([0x41, 0x0a, 0xff, 0xfe, 0x0a, 0x63, 0x0a]), Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a, 0x43, 0x0a]));
    expect(got).toEqual({ kind: "clean", bytes: Buffer.from([0x41, 0x0a, 0xff, 0xfe, 0x0a, 0x43, 0x0a]) });
  });

  test("says why no merge is offered", () => {
    expect(mergeThreeWay(undefined, bytes("a"), bytes("b"))).toEqual({ kind: "unavailable", reason: expect.stringMatching(/not in E's version store/) });
    expect(mergeThreeWay(bytes("\0"), bytes("a"), bytes("b"))).toEqual({ kind: "unavailable", reason: "the file is binary" });
  });

  test.each([
    { picks: ["e", "e"], merged: "1 E\n2\n3\n4 R\n5\n6 E\n" },
    { picks: ["r", "e"], merged: "1 R\n2\n3\n4 R\n5\n6 E\n" },
    { picks: ["r", "r"], merged: "1 R\n2\n3\n4 R\n5\n6 R\n" },
  ] as const)("overlaps settled part by part ($picks) keep every change that did not overlap", ({ picks, merged }) => {
    const got = mergeThreeWay(bytes("1\n2\n3\n4\n5\n6\n"), bytes("1 E\n2\n3\n4\n5\n6 E\n"), bytes("1 R\n2\n3\n4 R\n5\n6 R\n"));
    if (got.kind !== "overlap") throw new Error(`expected overlaps, got ${got.kind}`);
    expect(got.overlaps).toBe(2);
    expect(pickSides(got.regions, picks)?.toString("latin1")).toBe(merged);
  });

  test("settling overlaps needs exactly one pick per overlap", () => {
    const got = mergeThreeWay(bytes("1\n2\n3\n"), bytes("1\n2 E\n3\n"), bytes("1\n2 R\n3\n"));
    if (got.kind !== "overlap") throw new Error(`expected an overlap, got ${got.kind}`);
    expect(pickSides(got.regions, [])).toBeUndefined();
    expect(pickSides(got.regions, ["e", "r"])).toBeUndefined();
    expect(pickSides(got.regions, ["e"])?.toString("latin1")).toBe("1\n2 E\n3\n");
  });
});

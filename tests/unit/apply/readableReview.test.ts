import { describe, expect, test } from "@jest/globals";
import { folderOverview, groupByFolder, mergeNote, pagerCommand } from "@zync/apply";

const paths = (...ps: string[]) => ps.map((path) => ({ path }));

describe("grouping a session's changes by folder", () => {
  test.each([
    ["each folder its own group, sorted, the root first", paths("b/x", "a/y", "top", "b/z"), 20, [["", ["top"]], ["a", ["a/y"]], ["b", ["b/x", "b/z"]]]],
    ["nested folders kept apart while they fit", paths("src/a/x", "src/b/y"), 20, [["src/a", ["src/a/x"]], ["src/b", ["src/b/y"]]]],
    ["too many folders: folded into their parents", paths("src/a/x", "src/b/y", "lib/c/z"), 2, [["lib", ["lib/c/z"]], ["src", ["src/a/x", "src/b/y"]]]],
    ["folded as far as the root when nothing else fits", paths("a/x", "b/y", "c/z"), 2, [["", ["a/x", "b/y", "c/z"]]]],
    ["a shallow file stays in its own folder when deeper ones are folded", paths("src/a/x", "src/b/y", "src/top"), 1, [["src", ["src/a/x", "src/b/y", "src/top"]]]],
  ])("%s", (_title, items, max, groups) => {
    expect(groupByFolder(items, (i) => i.path, max).map((g) => [g.folder, g.items.map((i) => i.path)])).toEqual(groups);
  });

  test("the overview counts changes and conflicts per folder, and only for long sessions", () => {
    const many = [...Array.from({ length: 18 }, (_, i) => ({ path: `gen/f${i}.txt`, conflict: i < 3 })), { path: "src/a.ts", conflict: false }, { path: "src/b.ts", conflict: false }];
    expect(folderOverview(many)).toEqual([]);
    expect(folderOverview([...many, { path: "x\x1b]0;t\x07/c", conflict: true }])).toEqual([
      "by folder (3):",
      "  gen/            18 change(s), 3 in conflict",
      "  src/            2 change(s)",
      "  x\\x1b]0;t\\x07/  1 change(s), 1 in conflict",
    ]);
  });
});

describe("when the full diff goes through a pager", () => {
  const term = (over: Partial<{ isTTY: boolean; rows: number | undefined; pager: string | undefined }> = {}) => ({ isTTY: true, rows: 50, pager: undefined, ...over });
  test.each([
    ["longer than the terminal: less by default", 120, term(), "less"],
    ["longer than the terminal: PAGER when set", 120, term({ pager: "most -s" }), "most -s"],
    ["fits the terminal: printed", 30, term({ pager: "most" }), undefined],
    ["one line short of the height (the prompt needs it): paged", 50, term(), "less"],
    ["stdout not a terminal: printed", 500, term({ isTTY: false }), undefined],
    ["terminal height unknown: printed", 500, term({ rows: undefined }), undefined],
    ["PAGER empty: printed", 500, term({ pager: "" }), undefined],
    ["PAGER=cat: printed", 500, term({ pager: "cat" }), undefined],
  ])("%s", (_title, lines, t, command) => {
    expect(pagerCommand(lines, t)).toBe(command);
  });
});

describe("what show says about merging a conflict", () => {
  test.each([
    [{ kind: "clean" as const }, "E's and R's changes do not overlap: they can be merged."],
    [{ kind: "overlap" as const, overlaps: 2 }, "no clean merge: E's and R's changes overlap in 2 place(s)."],
    [{ kind: "unavailable" as const, reason: "the file is binary" }, "merge not offered: the file is binary."],
    [{ kind: "unavailable" as const, reason: "a\x1b[2Jb is blocked" }, "merge not offered: a\\x1b[2Jb is blocked."],
  ])("%j", (verdict, sentence) => {
    expect(mergeNote(verdict)).toBe(sentence);
  });
});

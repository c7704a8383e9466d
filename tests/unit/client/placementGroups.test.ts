import { describe, expect, test } from "@jest/globals";
import { latestOfEach, placementGroups, type PageBatches } from "@zync/client";

const b = (first: number, last: number, root = "code") => ({ root, first, last });

describe("which pages are placed together", () => {
  test.each([
    ["no batches: every page alone, as before", [{ next: 10, more: true }, { next: 20, more: true }, { next: 25, more: false }], [{ pages: [0], atomic: false }, { pages: [1], atomic: false }, { pages: [2], atomic: false }]],
    ["a batch inside one page: that page alone, as one unit", [{ next: 10, more: true, batches: [b(3, 8)] }, { next: 20, more: false }], [{ pages: [0], atomic: true }, { pages: [1], atomic: false }]],
    [
      "a batch across three pages: the three together",
      [{ next: 10, more: true }, { next: 20, more: true, batches: [b(15, 42)] }, { next: 30, more: true, batches: [b(15, 42)] }, { next: 42, more: true, batches: [b(15, 42)] }, { next: 50, more: false }],
      [{ pages: [0], atomic: false }, { pages: [1, 2, 3], atomic: true }, { pages: [4], atomic: false }],
    ],
    [
      "a page in the middle of a batch naming none of it (its other changes moved on): still in the group",
      [{ next: 10, more: true, batches: [b(5, 30)] }, { next: 20, more: true }, { next: 30, more: true }, { next: 40, more: false }],
      [{ pages: [0, 1, 2], atomic: true }, { pages: [3], atomic: false }],
    ],
    [
      "two batches overlapping a page boundary each: one group until the later one ends",
      [{ next: 10, more: true, batches: [b(5, 12)] }, { next: 20, more: true, batches: [b(5, 12), b(18, 25)] }, { next: 30, more: false, batches: [b(18, 25)] }],
      [{ pages: [0, 1, 2], atomic: true }],
    ],
    ["a batch of another root (a page without root): not this root's", [{ next: 10, more: true, batches: [b(3, 30, "docs")] }, { next: 20, more: false }], [{ pages: [0], atomic: false }, { pages: [1], atomic: false }]],
    ["the last page ends every group, whatever it says", [{ next: 10, more: true, batches: [b(5, 99)] }, { next: 20, more: false }], [{ pages: [0, 1], atomic: true }]],
  ] as [string, PageBatches[], unknown][])("%s", (_what, pages, groups) => {
    expect(placementGroups(pages, "code")).toEqual(groups);
  });

  test("the pages of a group keep each path once, in its latest state, in sequence order", () => {
    const items = [
      { path: "a", seq: 3, v: 1 },
      { path: "b", seq: 4, v: 1 },
      { path: "a", seq: 9, v: 2 },
      { path: "c", seq: 10, v: 1 },
    ];
    expect(latestOfEach(items)).toEqual([
      { path: "b", seq: 4, v: 1 },
      { path: "a", seq: 9, v: 2 },
      { path: "c", seq: 10, v: 1 },
    ]);
  });
});

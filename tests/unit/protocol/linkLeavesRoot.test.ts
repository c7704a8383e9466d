import { describe, expect, test } from "@jest/globals";
import { linkLeavesRoot, MAX_LINK_HOPS } from "@zync/protocol";

/** Other links in the tree, path → target. */
type Tree = Record<string, string>;

const CASES: readonly [string, string, string, Tree, boolean][] = [
  ["an absolute target", "a", "/etc", {}, true],
  ["an absolute target that names a path inside by coincidence", "a", "/a", {}, true],
  ["a sibling", "a", "b", {}, false],
  ["the root itself", "a", ".", {}, false],
  ["the root from below", "d/a", "..", {}, false],
  ["one '..' too many at the top", "a", "../x", {}, true],
  ["two levels up from one level down", "d/a", "../../etc", {}, true],
  ["down then up past the root", "a", "src/../../etc", {}, true],
  ["down and up, staying inside", "d/e/a", "../../src/./x", {}, false],
  ["empty segments", "a", "src//x", {}, false],
  ["through a link that points up to the root, then out", "l2", "sub/l1/..", { "sub/l1": ".." }, true],
  ["through a link that points inside", "a", "sub/l1/x", { "sub/l1": "../src" }, false],
  ["through a link that leaves", "a", "data/x", { data: "/mnt/data" }, true],
  ["to a link that leaves", "a", "data", { data: "../../x" }, true],
  ["through a chain of links that ends outside", "a", "l1/x", { l1: "l2", l2: "l3", l3: "/" }, true],
  ["a link to itself", "a", "a", { a: "a" }, true],
  ["two links pointing at each other", "a", "b", { b: "c", c: "b" }, true],
  ["a link whose '..' leaves from where its link points", "a", "deep/..", { deep: "x/y/z" }, false],
  ["'..' after a link climbs from the link's target, not its name", "d/a", "l/../..", { "d/l": "../p/q" }, false],
  ["'..' after a link, out", "d/a", "l/../../..", { "d/l": "../p/q" }, true],
];

describe("does a symlink lead out of its root", () => {
  test.each(CASES)("%s", (_what, link, target, tree, leaves) => {
    expect(linkLeavesRoot(link, target, (rel) => tree[rel])).toBe(leaves);
  });

  test("a chain longer than the kernel follows counts as leaving", () => {
    const tree: Tree = {};
    for (let i = 0; i <= MAX_LINK_HOPS; i++) tree[`l${i}`] = `l${i + 1}`;
    expect(linkLeavesRoot("a", "l0", (rel) => tree[rel])).toBe(true);
    const short: Tree = { l0: "l1", l1: "l2", l2: "file" };
    expect(linkLeavesRoot("a", "l0", (rel) => short[rel])).toBe(false);
  });
});

import { describe, expect, test } from "@jest/globals";
import { applyOrder } from "@zync/apply";

const del = (path: string) => ({ path, state: { kind: "deleted" } });
const file = (path: string) => ({ path, state: { kind: "file" } });
const dir = (path: string) => ({ path, state: { kind: "dir" } });

describe("the order in which a session's changes are applied", () => {
  test.each([
    ["a folder made a file: its files' deletions come before the file", [file("d"), del("d/a"), del("d/b")], ["d/a", "d/b", "d"]],
    ["a whole tree deleted: deepest first", [del("t"), del("t/x"), del("t/x/y")], ["t/x/y", "t/x", "t"]],
    ["additions and edits keep their staged order (folders before what they hold)", [dir("n"), file("n/a"), file("b")], ["n", "n/a", "b"]],
    ["deletions at one depth keep their staged order", [del("b"), file("c"), del("a")], ["b", "a", "c"]],
  ])("%s", (_title, changes, order) => {
    expect(applyOrder(changes).map((c) => c.path)).toEqual(order);
  });
});

import { describe, expect, test } from "@jest/globals";
import { changeOf, decideUndo, undoOrder, type UndoFacts, type UndoStep } from "@zync/apply";
import { beforeOfNote } from "@zync/daemon";
import type { EntryState } from "@zync/protocol";

const file = (hash: string, mode = 0o644, size = 10): EntryState => ({ kind: "file", hash, size, mode, mtimeMs: 1_000 });
const dir: EntryState = { kind: "dir", mode: 0o755 };
const link = (target: string): EntryState => ({ kind: "symlink", target });
const none: EntryState = { kind: "deleted" };

const X = "000000000000000a";
const Y = "000000000000000b";
const Z = "000000000000000c";

const changed = (current: string, applied: string): UndoStep => ({ kind: "refuse", reason: `changed on E since the apply (E holds ${current}, the apply wrote ${applied})` });
const pruned: UndoStep = { kind: "refuse", reason: "E's earlier version is no longer in the version store (pruned by retention)" };

describe("what undo does with one path, from E's state before, what the apply wrote and what E holds now", () => {
  const cases: [string, Partial<UndoFacts> & Pick<UndoFacts, "before" | "applied" | "current">, UndoStep][] = [
    ["a modified file still as the apply wrote it is put back", { before: file(X), applied: file(Y), current: file(Y) }, { kind: "restore" }],
    ["a file the apply created, unchanged, is removed", { before: none, applied: file(Y), current: file(Y) }, { kind: "restore" }],
    ["a file the apply deleted, still absent, is put back", { before: file(X), applied: none, current: none }, { kind: "restore" }],
    ["a merged file still as written is put back", { before: file(X), applied: file(Z), current: file(Z) }, { kind: "restore" }],
    ["an exec bit the apply set is taken back without the store", { before: file(X, 0o644), applied: file(X, 0o755), current: file(X, 0o755), haveBefore: false }, { kind: "restore" }],
    ["a folder the apply created is removed (if empty, which the executor checks)", { before: none, applied: dir, current: dir }, { kind: "restore" }],
    ["a folder the apply removed is made again", { before: dir, applied: none, current: none }, { kind: "restore" }],
    ["a link the apply replaced is put back", { before: link("a"), applied: link("b"), current: link("b") }, { kind: "restore" }],
    ["E edited the file since: left alone", { before: file(X), applied: file(Y), current: file(Z) }, changed("a file of 10 byte(s)", "a file of 10 byte(s)")],
    ["E only changed the mode since: left alone (E holds more than the bytes)", { before: file(X), applied: file(Y, 0o644), current: file(Y, 0o600) }, changed("a file of 10 byte(s)", "a file of 10 byte(s)")],
    ["E deleted the file the apply wrote: left alone", { before: file(X), applied: file(Y), current: none }, changed("nothing", "a file of 10 byte(s)")],
    ["E made a file where the apply deleted one: left alone", { before: file(X), applied: none, current: file(Z) }, changed("a file of 10 byte(s)", "nothing")],
    ["E edited the file the apply created: left alone", { before: none, applied: file(Y), current: file(Z) }, changed("a file of 10 byte(s)", "a file of 10 byte(s)")],
    ["E already holds its earlier version (a killed undo got that far): done", { before: file(X), applied: file(Y), current: file(X), undoing: true }, { kind: "done" }],
    ["a created file already gone: done", { before: none, applied: file(Y), current: none }, { kind: "done" }],
    ["undone before, even with the stored version pruned: done", { before: file(X), applied: file(Y), current: file(X), haveBefore: false }, { kind: "done" }],
    ["the earlier version is gone from the store: left alone", { before: file(X), applied: file(Y), current: file(Y), haveBefore: false }, pruned],
    ["a killed undo made the folder but did not set its mode yet: finished", { before: { kind: "dir", mode: 0o750 }, applied: none, current: dir, undoing: true }, { kind: "restore" }],
    ["a folder of E's own with another mode where the apply removed one, no undo begun: done", { before: { kind: "dir", mode: 0o750 }, applied: none, current: dir }, { kind: "done" }],
    ["a killed undo left the gap of a folder made a file: finished", { before: dir, applied: file(Y), current: none, undoing: true }, { kind: "restore" }],
    ["a killed undo left the gap of a file made a folder: finished", { before: file(X), applied: dir, current: none, undoing: true }, { kind: "restore" }],
    ["the same gap with no undo begun is E's own deletion: left alone", { before: dir, applied: file(Y), current: none }, changed("nothing", "a file of 10 byte(s)")],
    ["nothing where a file replaced a file is never a gap, undo begun or not", { before: file(X), applied: file(Y), current: none, undoing: true }, changed("nothing", "a file of 10 byte(s)")],
  ];
  test.each(cases)("%s", (_what, facts, step) => {
    expect(decideUndo({ undoing: false, haveBefore: true, ...facts })).toEqual(step);
  });
});

describe("which state E held before a write, given the note a killed apply may have left", () => {
  const cases: [string, { before: EntryState; applied: EntryState } | undefined, EntryState, EntryState][] = [
    ["no earlier note: what E holds now", undefined, file(X), file(X)],
    ["the killed run's write landed: the earlier note's state", { before: file(X), applied: file(Z) }, file(Z), file(X)],
    ["the killed run's deletion landed: the earlier note's state", { before: file(X), applied: none }, none, file(X)],
    ["the killed run left the gap of a folder made a file: the folder", { before: dir, applied: file(Y) }, none, dir],
    ["the killed run never wrote: what E holds now", { before: file(X), applied: file(Y) }, file(X), file(X)],
    ["E changed after the killed run noted it: what E holds now", { before: file(X), applied: file(Y) }, file(Z), file(Z)],
    ["E deleted a file the killed run was about to replace: nothing", { before: file(X), applied: file(Y) }, none, none],
  ];
  test.each(cases)("%s", (_what, earlier, current, before) => {
    expect(beforeOfNote(earlier, current)).toEqual(before);
  });
});

describe("undo's order and history's words", () => {
  test("paths the apply created go first, deepest first; the rest shallowest first", () => {
    const rows = [
      { path: "new", before: none },
      { path: "old", before: dir },
      { path: "new/deep/f", before: none },
      { path: "old/f", before: file(X) },
      { path: "new/deep", before: none },
      { path: "a", before: file(X) },
    ];
    expect(undoOrder(rows).map((r) => r.path)).toEqual(["new/deep/f", "new/deep", "new", "old", "a", "old/f"]);
  });

  const kinds: [string, EntryState, EntryState, "applied" | "merged", string][] = [
    ["nothing before, a file written", none, file(Y), "applied", "created"],
    ["a file before, removed", file(X), none, "applied", "deleted"],
    ["a file before, another written", file(X), file(Y), "applied", "modified"],
    ["a folder before, a file written", dir, file(Y), "applied", "modified"],
    ["a file before, a merge written", file(X), file(Z), "merged", "merged"],
  ];
  test.each(kinds)("%s: history says so", (_what, before, applied, how, change) => {
    expect(changeOf({ before, applied, how })).toBe(change);
  });
});

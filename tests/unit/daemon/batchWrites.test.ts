import { describe, expect, test } from "@jest/globals";
import { oneWritePerPath } from "@zync/daemon";
import type { EntryState } from "@zync/protocol";

type Write = Parameters<typeof oneWritePerPath>[0][number];

const key = (ino: number) => ({ kind: "file" as const, size: 1, mtimeMs: 1, ctimeMs: 1, ino, mode: 0o644, takenMs: 1 });
const file: EntryState = { kind: "file", hash: "h1", size: 1, mode: 0o644, mtimeMs: 1 };
const other: EntryState = { kind: "file", hash: "h2", size: 1, mode: 0o644, mtimeMs: 2 };
const gone: EntryState = { kind: "deleted" };
const record = (path: string, state: EntryState, ino?: number): Write => ({ op: "record", root: "code", path, state, key: ino === undefined ? undefined : key(ino) });
const touch = (path: string, ino: number): Write => ({ op: "touch", root: "code", path, key: key(ino) });
const forget = (path: string): Write => ({ op: "forget", root: "code", path });

describe("the writes of a batch, one per path", () => {
  test.each<[string, Write[], Write[]]>([
    ["distinct paths stay as they are, in order", [record("a", file, 1), record("b", gone)], [record("a", file, 1), record("b", gone)]],
    // A folder that became a file: what it held is deleted first, then deleted again after the file (checked
    // against the log as it was before the batch). The deletion keeps its first place, before the file.
    ["a folder turned file: the deletions of its contents stay before the file", [record("p/x", gone), record("p", file, 2), record("p/x", gone)], [record("p/x", gone), record("p", file, 2)]],
    ["a folder removed: its contents' deletions stay before the folder's", [record("d/x", gone), record("d", gone), record("d/x", gone)], [record("d/x", gone), record("d", gone)]],
    ["a path recorded twice keeps its first place with its last state and key", [record("a", file, 1), record("b", file, 3), record("a", other, 2)], [record("a", other, 2), record("b", file, 3)]],
    ["a touch after the last record lends it its key", [record("a", file, 1), touch("a", 5)], [record("a", file, 5)]],
    ["a touch before the last record gives way to it", [touch("a", 5), record("a", file, 1)], [record("a", file, 1)]],
    ["touches alone: the last one", [touch("a", 5), touch("b", 1), touch("a", 6)], [touch("b", 1), touch("a", 6)]],
    ["a forgotten path keeps its writes as they are", [record("a", file, 1), forget("a"), record("a", other, 2)], [record("a", file, 1), forget("a"), record("a", other, 2)]],
    ["the same path in two roots is two paths", [record("a", file, 1), { ...record("a", other, 2), root: "docs" }], [record("a", file, 1), { ...record("a", other, 2), root: "docs" }]],
  ])("%s", (_what, writes, expected) => {
    expect(oneWritePerPath(writes)).toEqual(expected);
  });
});

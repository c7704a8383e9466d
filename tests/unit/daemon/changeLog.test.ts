import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { ChangeLog, type LogWrite } from "@zync/daemon";
import type { EntryState } from "@zync/protocol";
import type { StatKey } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { DELETED, dirState, fileState, H1, H2, H3, linkState, statKey } from "../../helpers/states.js";

const open: ChangeLog[] = [];

function newLog(path = `${tempDir()}/sync.db`): ChangeLog {
  const log = new ChangeLog(path);
  open.push(log);
  return log;
}

function closeLog(log: ChangeLog): void {
  open.splice(open.indexOf(log), 1);
  log.close();
}

afterEach(() => {
  for (const l of open.splice(0)) l.close();
});
afterAll(removeTempDirs);

let ino = 100;
function rec(path: string, state: EntryState, root = "code"): LogWrite {
  const key: StatKey | undefined =
    state.kind === "deleted" ? undefined : statKey(++ino, { kind: state.kind, mode: state.kind === "symlink" ? 0o777 : state.mode });
  return { op: "record", root, path, state, key };
}

/** Returns once Date.now() has moved past `t`: a busy wait of at most a millisecond, not a sleep. */
function afterMs(t: number): number {
  while (Date.now() <= t);
  return Date.now();
}

describe("ChangeLog sequence numbers", () => {
  test("a new log starts at head 0 and horizon 0", () => {
    const log = newLog();
    expect(log.head()).toBe(0);
    expect(log.horizon()).toBe(0);
    expect(log.changesSince(0, 10)).toEqual({ changes: [], next: 0, head: 0, more: false });
  });

  test("each record takes the next sequence number, also within one batch", () => {
    const log = newLog();
    expect(log.write([rec("a", fileState(H1)), rec("b", dirState())])).toBe(2);
    expect(log.get("code", "a")?.seq).toBe(1);
    expect(log.get("code", "b")?.seq).toBe(2);
    expect(log.write([rec("a", fileState(H2))])).toBe(3);
    expect(log.get("code", "a")).toMatchObject({ seq: 3, state: fileState(H2) });
    expect(log.head()).toBe(3);
  });

  test("records keep each kind's state exactly", () => {
    const log = newLog();
    const states: [string, EntryState][] = [
      ["f", fileState(H1, { size: 1234, mode: 0o755, mtimeMs: 1_650_000_000_777 })],
      ["d", dirState(0o700)],
      ["l", linkState("../some where/ü")],
      ["gone", DELETED],
    ];
    log.write(states.map(([p, s]) => rec(p, s)));
    for (const [p, s] of states) expect(log.get("code", p)?.state).toEqual(s);
    expect(log.get("code", "gone")?.key).toBeUndefined();
    expect(log.get("code", "f")?.key).toMatchObject({ kind: "file", size: 1234, mode: 0o755, mtimeMs: 1_650_000_000_777 });
  });

  test("touch refreshes the stat facts without taking a sequence number", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1))]);
    const key = statKey(999, { mtimeMs: 1_800_000_000_000 });
    expect(log.write([{ op: "touch", root: "code", path: "a", key }])).toBe(1);
    expect(log.head()).toBe(1);
    expect(log.get("code", "a")).toMatchObject({ seq: 1, key: { ino: 999, mtimeMs: 1_800_000_000_000 } });
    expect(log.changesSince(1, 10).changes).toEqual([]);
  });

  test("touch of an unknown path creates nothing", () => {
    const log = newLog();
    log.write([{ op: "touch", root: "code", path: "nope", key: statKey(1) }]);
    expect(log.get("code", "nope")).toBeUndefined();
    expect(log.head()).toBe(0);
  });

  test("forget removes a row without taking a sequence number", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1)), rec("b", fileState(H2))]);
    expect(log.write([{ op: "forget", root: "code", path: "a" }])).toBe(2);
    expect(log.get("code", "a")).toBeUndefined();
    expect(log.changesSince(0, 10).changes.map((c) => c.path)).toEqual(["b"]);
    log.write([rec("c", fileState(H3))]);
    expect(log.get("code", "c")?.seq).toBe(3);
  });

  test("an empty write changes nothing and returns the head", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1))]);
    expect(log.write([])).toBe(1);
  });
});

describe("ChangeLog.changesSince", () => {
  test("returns each path's latest state once, in sequence order", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1))]); // 1
    log.write([rec("b", dirState())]); // 2
    log.write([rec("a", fileState(H2))]); // 3
    log.write([rec("c", linkState("t"))]); // 4
    log.write([rec("b", DELETED)]); // 5
    const page = log.changesSince(0, 100);
    expect(page.changes).toEqual([
      { seq: 3, root: "code", path: "a", state: fileState(H2) },
      { seq: 4, root: "code", path: "c", state: linkState("t") },
      { seq: 5, root: "code", path: "b", state: DELETED },
    ]);
    expect(page).toMatchObject({ next: 5, head: 5, more: false });
    expect(log.changesSince(3, 100).changes.map((c) => c.seq)).toEqual([4, 5]);
  });

  test("pages with `more` and `next` until everything is read exactly once", () => {
    const log = newLog();
    for (let i = 0; i < 7; i++) log.write([rec(`f${i}`, fileState(H1))]);
    log.write([rec("f2", fileState(H2))]); // f2 moves to seq 8
    const seen: number[] = [];
    let since = 0;
    const pages: { n: number; next: number; more: boolean }[] = [];
    for (;;) {
      const page = log.changesSince(since, 3);
      expect(page.head).toBe(8);
      pages.push({ n: page.changes.length, next: page.next, more: page.more });
      seen.push(...page.changes.map((c) => c.seq));
      if (!page.more) break;
      expect(page.next).toBe(page.changes[page.changes.length - 1]!.seq);
      since = page.next;
    }
    expect(seen).toEqual([1, 2, 4, 5, 6, 7, 8]);
    expect(pages).toEqual([
      { n: 3, next: 4, more: true },
      { n: 3, next: 7, more: true },
      { n: 1, next: 8, more: false },
    ]);
  });

  test("a page that exactly fits the limit says there is no more", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1)), rec("b", fileState(H1))]);
    expect(log.changesSince(0, 2)).toMatchObject({ next: 2, more: false });
    expect(log.changesSince(0, 1)).toMatchObject({ next: 1, more: true });
  });

  test("an empty page moves the cursor to the head, never backwards", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1))]);
    log.write([{ op: "forget", root: "code", path: "a" }]);
    expect(log.changesSince(0, 10)).toEqual({ changes: [], next: 1, head: 1, more: false });
    expect(log.changesSince(1, 10)).toEqual({ changes: [], next: 1, head: 1, more: false });
    expect(log.changesSince(50, 10)).toMatchObject({ changes: [], next: 50 });
  });

  test("with a root filter, returns only that root's changes, paged correctly", () => {
    const log = newLog();
    log.write([rec("a1", fileState(H1), "a")]); // 1
    log.write([rec("b1", fileState(H1), "b")]); // 2
    log.write([rec("a2", fileState(H1), "a")]); // 3
    log.write([rec("b2", fileState(H1), "b")]); // 4
    log.write([rec("a3", fileState(H1), "a")]); // 5
    log.write([rec("b3", fileState(H1), "b")]); // 6
    const first = log.changesSince(0, 2, "a");
    expect(first.changes.map((c) => [c.root, c.path, c.seq])).toEqual([
      ["a", "a1", 1],
      ["a", "a2", 3],
    ]);
    expect(first).toMatchObject({ next: 3, more: true, head: 6 });
    const second = log.changesSince(first.next, 2, "a");
    expect(second.changes.map((c) => c.path)).toEqual(["a3"]);
    expect(second).toMatchObject({ more: false, head: 6 });
    expect(second.next).toBeGreaterThanOrEqual(5);
    expect(log.changesSince(second.next, 10, "a").changes).toEqual([]);
    expect(log.changesSince(0, 10, "b").changes.map((c) => c.path)).toEqual(["b1", "b2", "b3"]);
    expect(log.changesSince(0, 10, "nope").changes).toEqual([]);
  });

  test("the same path in two roots is two entries", () => {
    const log = newLog();
    log.write([rec("x", fileState(H1), "a"), rec("x", fileState(H2), "b")]);
    expect(log.get("a", "x")?.state).toEqual(fileState(H1));
    expect(log.get("b", "x")?.state).toEqual(fileState(H2));
    expect(log.changesSince(0, 10).changes).toHaveLength(2);
  });
});

describe("ChangeLog persistence", () => {
  test("the head persists across reopen and the next record continues from it", () => {
    const path = `${tempDir()}/sync.db`;
    const first = newLog(path);
    first.write([rec("a", fileState(H1)), rec("b", fileState(H1)), rec("c", fileState(H1))]);
    first.write([{ op: "forget", root: "code", path: "c" }]);
    closeLog(first);
    const again = newLog(path);
    expect(again.head()).toBe(3);
    expect(again.get("code", "a")?.state).toEqual(fileState(H1));
    again.write([rec("d", fileState(H2))]);
    expect(again.get("code", "d")?.seq).toBe(4);
  });

  test("the epoch is stable across reopen and different for a new database", () => {
    const path = `${tempDir()}/sync.db`;
    const first = newLog(path);
    const epoch = first.epoch;
    expect(epoch.length).toBeGreaterThan(0);
    closeLog(first);
    expect(newLog(path).epoch).toBe(epoch);
    expect(newLog().epoch).not.toBe(epoch);
  });

  test("roots are remembered with their folders", () => {
    const path = `${tempDir()}/sync.db`;
    const first = newLog(path);
    first.setRoots([
      { name: "code", path: "/srv/code" },
      { name: "docs", path: "/srv/docs" },
    ]);
    first.setRoots([{ name: "code", path: "/srv/code2" }]);
    closeLog(first);
    expect(newLog(path).roots()).toEqual([
      { name: "code", path: "/srv/code2" },
      { name: "docs", path: "/srv/docs" },
    ]);
  });
});

describe("ChangeLog.pruneDeletions", () => {
  test("removes only deletions recorded before the cutoff and raises the horizon past them", () => {
    const log = newLog();
    log.write([rec("old-file", fileState(H1))]); // 1
    log.write([rec("old-gone-1", DELETED)]); // 2
    log.write([rec("old-gone-2", DELETED)]); // 3
    const t = Date.now();
    const cutoff = afterMs(t);
    afterMs(cutoff);
    log.write([rec("new-gone", DELETED)]); // 4
    log.write([rec("new-file", fileState(H2))]); // 5

    expect(log.pruneDeletions(cutoff)).toBe(2);
    expect(log.horizon()).toBe(3);
    expect(log.get("code", "old-gone-1")).toBeUndefined();
    expect(log.get("code", "old-gone-2")).toBeUndefined();
    expect(log.get("code", "new-gone")?.state).toEqual(DELETED);
    expect(log.get("code", "old-file")?.state).toEqual(fileState(H1));
    expect(log.changesSince(0, 10).changes.map((c) => c.path)).toEqual(["old-file", "new-gone", "new-file"]);
    expect(log.head()).toBe(5);
  });

  test("with nothing old enough it removes nothing and keeps the horizon", () => {
    const log = newLog();
    const cutoff = Date.now();
    afterMs(cutoff);
    log.write([rec("gone", DELETED)]);
    expect(log.pruneDeletions(cutoff)).toBe(0);
    expect(log.horizon()).toBe(0);
    expect(log.get("code", "gone")).toBeDefined();
  });

  test("a path deleted long ago and recreated since is not pruned", () => {
    const log = newLog();
    log.write([rec("p", DELETED)]);
    log.write([rec("p", fileState(H1))]);
    const cutoff = afterMs(Date.now());
    expect(log.pruneDeletions(cutoff)).toBe(0);
    expect(log.get("code", "p")?.state).toEqual(fileState(H1));
  });

  test("the horizon never goes down and persists across reopen", () => {
    const path = `${tempDir()}/sync.db`;
    const log = newLog(path);
    log.write([rec("a", DELETED)]); // 1
    log.write([rec("b", DELETED)]); // 2
    const cutoff = afterMs(Date.now());
    expect(log.pruneDeletions(cutoff)).toBe(2);
    expect(log.horizon()).toBe(2);
    expect(log.pruneDeletions(0)).toBe(0);
    expect(log.horizon()).toBe(2);
    closeLog(log);
    expect(newLog(path).horizon()).toBe(2);
  });
});

describe("ChangeLog.onRecorded", () => {
  test("listeners hear the new head once per write batch that recorded something", () => {
    const log = newLog();
    const heard: number[] = [];
    const other: number[] = [];
    log.onRecorded((h) => heard.push(h));
    const unsubscribe = log.onRecorded((h) => other.push(h));
    log.write([rec("a", fileState(H1)), rec("b", fileState(H1)), rec("c", fileState(H1))]);
    expect(heard).toEqual([3]);
    log.write([{ op: "touch", root: "code", path: "a", key: statKey(5) }]);
    log.write([{ op: "forget", root: "code", path: "b" }]);
    log.write([]);
    expect(heard).toEqual([3]);
    log.write([{ op: "forget", root: "code", path: "c" }, rec("d", DELETED)]);
    expect(heard).toEqual([3, 4]);
    unsubscribe();
    log.write([rec("e", fileState(H1))]);
    expect(heard).toEqual([3, 4, 5]);
    expect(other).toEqual([3, 4]);
  });

  test("a listener sees the change already readable", () => {
    const log = newLog();
    const seen: string[][] = [];
    log.onRecorded((h) => seen.push(log.changesSince(h - 1, 10).changes.map((c) => c.path)));
    log.write([rec("x", fileState(H1))]);
    expect(seen).toEqual([["x"]]);
  });
});

describe("ChangeLog queries", () => {
  test("liveBelow lists live entries strictly below a folder, not siblings that share a prefix", () => {
    const log = newLog();
    const paths = ["a", "a/x", "a/y", "a/y/z", "a/gone", "a.b", "a-b", "ab", "a0", "b/a/x"];
    log.write(paths.map((p) => rec(p, p === "a/gone" ? DELETED : p.includes("/") ? fileState(H1) : dirState())));
    expect(log.liveBelow("code", "a").map((e) => e.path).sort()).toEqual(["a/x", "a/y", "a/y/z"]);
    expect(log.liveBelow("code", "a/y").map((e) => e.path)).toEqual(["a/y/z"]);
    expect(log.liveBelow("other", "a")).toEqual([]);
  });

  test("entriesOf returns a root's entries, deletions included", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1)), rec("b", DELETED), rec("c", fileState(H1), "other")]);
    expect([...log.entriesOf("code").keys()].sort()).toEqual(["a", "b"]);
  });

  test("acks are capped at the head and never go backwards", () => {
    const log = newLog();
    log.write([rec("a", fileState(H1)), rec("b", fileState(H1))]);
    log.ack("r1", 99);
    expect(log.clients().find((c) => c.id === "r1")?.ackedSeq).toBe(2);
    log.ack("r1", 1);
    expect(log.clients().find((c) => c.id === "r1")?.ackedSeq).toBe(2);
  });
});

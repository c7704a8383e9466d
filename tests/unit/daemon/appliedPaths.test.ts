import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { AppliedPaths, openDatabase, SessionStateError, StagingStore } from "@zync/daemon";
import type { EntryState, UpstreamChange } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const stores: StagingStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.db.close();
});

const ALIVE = (): boolean => true;
const DEAD = (): boolean => false;
const before: EntryState = { kind: "dir", mode: 0o700 };
const CHANGES: UpstreamChange[] = [
  { path: "a", base: null, state: { kind: "dir", mode: 0o755 } },
  { path: "b", base: null, state: { kind: "dir", mode: 0o755 } },
];

/** A pending session of two folder changes, held for review by pid 10, and its applied-paths record. */
function heldSession(): { store: StagingStore; log: AppliedPaths; id: number } {
  const dir = tempDir();
  const store = new StagingStore(openDatabase(`${dir}/sync.db`), `${dir}/sync.db.staging`);
  stores.push(store);
  const id = store.prepare("00000000000000a1", "c1", "code", CHANGES).session.id;
  store.finalize(id);
  store.takeReview(id, 10, ALIVE);
  return { store, log: new AppliedPaths(store.db), id };
}

describe("the record of the paths an apply wrote", () => {
  test("a note counts only once its change is decided applied; one skipped after a killed run never does", () => {
    const { store, log, id } = heldSession();
    log.noteWrite(id, "a", before, CHANGES[0]!.state, "applied");
    log.noteWrite(id, "b", before, CHANGES[1]!.state, "applied");
    expect(log.ofSession(id)).toEqual([]);
    expect(log.sessions()).toEqual([]);
    store.decide(id, "a", "applied", 10);
    store.decide(id, "b", "skipped", 10);
    expect(log.ofSession(id).map((p) => [p.path, p.before, p.applied, p.undo])).toEqual([["a", before, CHANGES[0]!.state, null]]);
    expect(log.sessions().map((s) => [s.id, s.status, s.paths.length])).toEqual([[id, "applied", 1]]);
  });

  test("undo marks a path undoing, then undone; an undone path keeps its mark and its note", () => {
    const { store, log, id } = heldSession();
    log.noteWrite(id, "a", before, CHANGES[0]!.state, "applied");
    store.decide(id, "a", "applied", 10);
    log.markUndoing(id, "a");
    expect(log.ofSession(id)[0]!.undo).toBe("undoing");
    log.markUndone(id, "a");
    log.markUndoing(id, "a");
    log.noteWrite(id, "a", { kind: "deleted" }, CHANGES[0]!.state, "applied");
    expect(log.ofSession(id).map((p) => [p.undo, p.before])).toEqual([["undone", before]]);
  });

  test("undo takes the session's lease whatever its status, never from a live holder, and takes over a dead one's", () => {
    const { store, log, id } = heldSession();
    expect(() => log.takeUndo(id, 20, ALIVE)).toThrow(SessionStateError);
    expect(() => log.takeUndo(id, 20, ALIVE)).toThrow(/being reviewed or undone by another zync-apply \(pid 10\)/);
    log.takeUndo(id, 20, DEAD);
    expect(store.get(id)!.reviewer).toBe(20);
    store.releaseReview(id, 20);
    store.takeReview(id, 10, ALIVE);
    store.decide(id, "a", "applied", 10);
    store.decide(id, "b", "applied", 10);
    store.releaseReview(id, 10);
    expect(store.get(id)!.status).toBe("applied");
    log.takeUndo(id, 30, ALIVE);
    expect(store.get(id)!.reviewer).toBe(30);
    expect(() => log.takeUndo(999, 30, ALIVE)).toThrow(/there is no session 999/);
  });
});

import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { canMove, openDatabase, REVIEW_LEASE_MS, SessionStateError, StagingStore } from "@zync/daemon";
import { SessionStatus, type UpstreamChange } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const stores: StagingStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.db.close();
});

/** A staging store on a fresh database, with a clock the test moves. */
function newStore(): { store: StagingStore; clock: { now: number } } {
  const dir = tempDir();
  const clock = { now: 1_000_000 };
  const store = new StagingStore(openDatabase(`${dir}/sync.db`), `${dir}/sync.db.staging`, () => clock.now);
  stores.push(store);
  return { store, clock };
}

const DIR: UpstreamChange = { path: "d", base: null, state: { kind: "dir", mode: 0o755 } };
let keys = 0;
const key = (): string => (++keys).toString(16).padStart(16, "0");

/** A session that is pending (a folder change needs no content). */
function pendingSession(store: StagingStore, client = "c1", change: UpstreamChange = DIR): number {
  const id = store.prepare(key(), client, "code", [change]).session.id;
  store.finalize(id);
  return id;
}

const ALIVE = (): boolean => true;
const DEAD = (): boolean => false;
const S = SessionStatus;

describe("which moves a session can make", () => {
  test.each([
    ["finalize", S.Receiving, S.Pending, true],
    ["finalize", S.Pending, S.Pending, false],
    ["abort", S.Receiving, S.Aborted, true],
    ["abort", S.Pending, S.Aborted, true],
    ["abort", S.Partial, S.Aborted, false],
    ["abort", S.Applied, S.Aborted, false],
    ["abort", S.Rejected, S.Aborted, false],
    ["decide", S.Pending, S.Partial, true],
    ["decide", S.Partial, S.Applied, true],
    ["decide", S.Receiving, S.Partial, false],
    ["decide", S.Aborted, S.Applied, false],
    ["reject", S.Receiving, S.Rejected, true],
    ["reject", S.Partial, S.Rejected, true],
    ["reject", S.Applied, S.Rejected, false],
    ["reject", S.Aborted, S.Rejected, false],
  ] as const)("%s from %s to %s: %s", (move, from, to, allowed) => {
    expect(canMove(move, from, to)).toBe(allowed);
  });
});

describe("a session under review", () => {
  test("a new offer from the same client does not abort a session whose review lease is live", () => {
    const { store } = newStore();
    const reviewed = pendingSession(store);
    store.takeReview(reviewed, 4242, ALIVE);
    const { aborted } = store.prepare(key(), "c1", "code", [DIR]);
    expect(aborted).toEqual([]);
    expect(store.get(reviewed)).toMatchObject({ status: S.Pending, reviewer: 4242 });
  });

  test("without a lease, the same offer aborts it", () => {
    const { store } = newStore();
    const old = pendingSession(store);
    expect(store.prepare(key(), "c1", "code", [DIR]).aborted).toEqual([old]);
    expect(store.get(old)?.status).toBe(S.Aborted);
  });

  test("a lease that ran out without renewal no longer protects it", () => {
    const { store, clock } = newStore();
    const old = pendingSession(store);
    store.takeReview(old, 4242, ALIVE);
    clock.now += REVIEW_LEASE_MS + 1;
    expect(store.prepare(key(), "c1", "code", [DIR]).aborted).toEqual([old]);
  });

  test("a renewed lease keeps protecting it", () => {
    const { store, clock } = newStore();
    const old = pendingSession(store);
    store.takeReview(old, 4242, ALIVE);
    clock.now += REVIEW_LEASE_MS / 2;
    expect(store.renewReview(old, 4242)).toBe(true);
    clock.now += REVIEW_LEASE_MS / 2 + 1;
    expect(store.prepare(key(), "c1", "code", [DIR]).aborted).toEqual([]);
  });

  test("a second reviewer is refused while the first one's lease is live and its process runs", () => {
    const { store } = newStore();
    const id = pendingSession(store);
    store.takeReview(id, 1, ALIVE);
    expect(() => store.takeReview(id, 2, ALIVE)).toThrow(/being reviewed by another zync-apply \(pid 1\)/);
    // The same process may take its own lease again.
    store.takeReview(id, 1, ALIVE);
  });

  test("a lease held by a process that no longer runs is taken over at once", () => {
    const { store } = newStore();
    const id = pendingSession(store);
    store.takeReview(id, 1, ALIVE);
    store.takeReview(id, 2, DEAD);
    expect(store.get(id)?.reviewer).toBe(2);
    expect(store.renewReview(id, 1)).toBe(false);
  });

  test("only the lease holder decides changes; a change is decided once", () => {
    const { store } = newStore();
    const id = pendingSession(store);
    expect(() => store.decide(id, "d", "applied", 7)).toThrow(SessionStateError);
    expect(store.get(id)?.status).toBe(S.Pending);
    store.takeReview(id, 7, ALIVE);
    store.decide(id, "d", "applied", 7);
    expect(store.get(id)).toMatchObject({ status: S.Applied, pending: 0 });
    expect(() => store.decide(id, "d", "skipped", 7)).toThrow(/already decided/);
  });

  test("reject needs the lease, and an aborted session cannot be rejected or reviewed", () => {
    const { store } = newStore();
    const id = pendingSession(store);
    expect(() => store.reject(id, 9)).toThrow(SessionStateError);
    store.prepare(key(), "c1", "code", [DIR]);
    expect(store.get(id)?.status).toBe(S.Aborted);
    expect(() => store.takeReview(id, 9, ALIVE)).toThrow(/aborted/);
    expect(() => store.reject(id, 9)).toThrow(SessionStateError);
  });

  test("content stored for a session that stopped receiving is not recorded", () => {
    const { store } = newStore();
    const file: UpstreamChange = { path: "f", base: null, state: { kind: "file", hash: "0123456789abcdef", size: 1, mode: 0o644, mtimeMs: 0 } };
    const id = store.prepare(key(), "c1", "code", [file]).session.id;
    expect(store.markStaged(id, "0123456789abcdef")).toBe(true);
    const other = store.prepare(key(), "c1", "code", [file]).session.id;
    expect(store.get(id)?.status).toBe(S.Aborted);
    expect(store.markStaged(id, "0123456789abcdef")).toBe(false);
    expect(store.get(other)?.status).toBe(S.Receiving);
  });
});

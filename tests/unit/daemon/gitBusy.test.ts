import { describe, expect, test } from "@jest/globals";
import { gitBusyReason, holdDue, holdStep, packedRef, parseHead, type HoldState } from "@zync/daemon";

const timing = { ceilingMs: 30_000, settleMs: 500 };

describe("is git busy, given the markers in its folder", () => {
  test.each([
    [[], undefined],
    [["index.lock"], "git holds the index lock"],
    [["rebase-merge"], "a rebase is in progress"],
    [["rebase-apply"], "a rebase is in progress"],
    [["MERGE_HEAD"], "a merge is in progress"],
    [["CHERRY_PICK_HEAD"], "a cherry-pick is in progress"],
    [["REVERT_HEAD"], "a revert is in progress"],
    [["BISECT_LOG"], "a bisect is in progress"],
    // The operation is named rather than the lock it takes for each step.
    [["index.lock", "rebase-merge"], "a rebase is in progress"],
    [["index.lock", "MERGE_HEAD"], "a merge is in progress"],
    // Files git leaves that mean nothing is under way.
    [["ORIG_HEAD", "FETCH_HEAD", "HEAD.lock"], undefined],
  ] as [string[], string | undefined][])("%j: %s", (present, reason) => {
    expect(gitBusyReason(new Set(present))).toBe(reason);
  });
});

describe("the hold of a root, step by step", () => {
  const holding = (since: number, markers: string[], quietSince?: number): HoldState => ({ kind: "holding", since, markers, ...(quietSince === undefined ? {} : { quietSince }) });
  test.each([
    ["idle, git not busy: nothing", { kind: "idle" }, [], 1000, { kind: "idle" }, "none"],
    ["idle, a lock appears: holding from now", { kind: "idle" }, ["index.lock"], 1000, holding(1000, ["index.lock"]), "hold"],
    ["holding, still busy: holding, since unchanged", holding(1000, ["index.lock"]), ["index.lock", "rebase-merge"], 5000, holding(1000, ["index.lock", "rebase-merge"]), "none"],
    ["holding, git done: settling from now", holding(1000, ["index.lock"]), [], 2000, holding(1000, ["index.lock"], 2000), "none"],
    ["settling, not long enough: still holding", holding(1000, ["index.lock"], 2000), [], 2499, holding(1000, ["index.lock"], 2000), "none"],
    ["settling long enough: released", holding(1000, ["index.lock"], 2000), [], 2500, { kind: "idle" }, "release"],
    ["settling, busy again (the next step of a rebase): holding, settle starts over", holding(1000, ["rebase-merge"], 2000), ["index.lock", "rebase-merge"], 2200, holding(1000, ["index.lock", "rebase-merge"]), "none"],
    ["holding past the ceiling while busy: recorded anyway", holding(1000, ["rebase-merge"]), ["rebase-merge"], 31_000, { kind: "expired", markers: ["rebase-merge"] }, "expire"],
    ["settling past the ceiling: released", holding(1000, ["index.lock"], 30_900), [], 31_000, { kind: "idle" }, "release"],
    ["expired, the same markers: recording goes on", { kind: "expired", markers: ["rebase-merge"] }, ["rebase-merge"], 40_000, { kind: "expired", markers: ["rebase-merge"] }, "none"],
    ["expired, a new marker (rebase --continue takes the lock): a new hold", { kind: "expired", markers: ["rebase-merge"] }, ["index.lock", "rebase-merge"], 40_000, holding(40_000, ["index.lock", "rebase-merge"]), "hold"],
    ["expired, the marker that stayed goes, then comes back: a new hold", { kind: "expired", markers: [] }, ["index.lock"], 41_000, holding(41_000, ["index.lock"]), "hold"],
    ["expired, git done: idle (nothing was held)", { kind: "expired", markers: ["index.lock"] }, [], 40_000, { kind: "idle" }, "none"],
  ] as [string, HoldState, string[], number, HoldState, string][])("%s", (_what, state, present, now, next, action) => {
    expect(holdStep(state, present, now, timing)).toEqual({ state: next, action });
  });

  test.each([
    ["idle, an event named index.lock that is gone already (a quick checkout): holding, settling from now", { kind: "idle" }, [], ["index.lock"], 1000, holding(1000, ["index.lock"], 1000), "hold"],
    ["idle, an event named a file that is no marker: nothing", { kind: "idle" }, [], ["index"], 1000, { kind: "idle" }, "none"],
    ["holding, the event of index.lock's removal names it: settling from now, not busy", holding(1000, ["index.lock"]), [], ["index.lock"], 1200, holding(1000, ["index.lock"], 1200), "none"],
    ["settling, the removal's event again: settle time unchanged, released when it is over", holding(1000, ["index.lock"], 1200), [], ["index.lock"], 1700, { kind: "idle" }, "release"],
    ["expired, an event names the marker that went: idle", { kind: "expired", markers: ["index.lock"] }, [], ["index.lock"], 40_000, { kind: "idle" }, "none"],
  ] as [string, HoldState, string[], string[], number, HoldState, string][])("%s", (_what, state, present, seen, now, next, action) => {
    expect(holdStep(state, present, now, timing, seen)).toEqual({ state: next, action });
  });

  test.each([
    [{ kind: "idle" }, undefined],
    [{ kind: "expired", markers: [] }, undefined],
    [holding(1000, ["index.lock"]), 31_000],
    [holding(1000, ["index.lock"], 2000), 2500],
    [holding(1000, ["index.lock"], 30_800), 31_000],
  ] as [HoldState, number | undefined][])("a hold in %j is looked at again at %s at the latest", (state, due) => {
    expect(holdDue(state, timing)).toBe(due);
  });
});

describe("what HEAD names", () => {
  const c40 = "0123456789abcdef0123456789abcdef01234567";
  test.each([
    ["ref: refs/heads/main\n", { ref: "refs/heads/main" }],
    ["ref:refs/heads/feature/x", { ref: "refs/heads/feature/x" }],
    [`${c40}\n`, { commit: c40 }],
    [`${"a".repeat(64)}`, { commit: "a".repeat(64) }],
    ["ref: ", undefined],
    ["garbage", undefined],
    [c40.slice(1), undefined],
  ] as [string, unknown][])("%j", (text, parsed) => {
    expect(parseHead(text)).toEqual(parsed);
  });

  test("a ref in packed-refs is found by its full name, peeled lines and comments aside", () => {
    const packed = `# pack-refs with: peeled fully-peeled sorted\n${c40} refs/heads/main\n^${"b".repeat(40)}\n${"c".repeat(40)} refs/heads/mainline\n`;
    expect(packedRef(packed, "refs/heads/main")).toBe(c40);
    expect(packedRef(packed, "refs/heads/mainline")).toBe("c".repeat(40));
    expect(packedRef(packed, "refs/heads/other")).toBeUndefined();
  });
});

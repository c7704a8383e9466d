import { describe, expect, test } from "@jest/globals";
import { decide, type Decision } from "@zync/client";
import { sameContent, type EntryState } from "@zync/protocol";
import { DELETED, dirState, fileState, H1, H2, H3, linkState } from "../../helpers/states.js";

// remote: E's new state; base: what R last received (undefined: never); local: what R holds now.
type Row = [what: string, remote: EntryState, base: EntryState | undefined, local: EntryState, expected: Decision];

const F1 = fileState(H1);
const F2 = fileState(H2);
const F3 = fileState(H3);

describe("decide: R already holds E's state → record", () => {
  const rows: Row[] = [
    ["identical edit on both sides", F2, F1, F2, "record"],
    ["identical new file on both sides, never synced", F1, undefined, F1, "record"],
    ["both deleted the file", DELETED, F1, DELETED, "record"],
    ["E deletes a path R never had and does not have", DELETED, undefined, DELETED, "record"],
    ["both made the same folder", dirState(), undefined, dirState(), "record"],
    ["same folder, different modes", dirState(0o700), dirState(), dirState(0o755), "record"],
    ["both made the same link", linkState("t"), undefined, linkState("t"), "record"],
    ["same content, only the mtime differs", fileState(H1, { mtimeMs: 5 }), F2, fileState(H1, { mtimeMs: 9 }), "record"],
    ["same content and exec bits, other bits differ", fileState(H1, { mode: 0o600 }), F2, fileState(H1, { mode: 0o644 }), "record"],
    ["identical edit even when R's base is unrelated", F3, linkState("x"), F3, "record"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, expected) => {
    expect(decide(remote, base, local)).toBe(expected);
  });
});

describe("decide: R has not touched the path since it synced it → apply", () => {
  const rows: Row[] = [
    ["E modified a file R left alone", F2, F1, F1, "apply"],
    ["E deleted a file R left alone", DELETED, F1, F1, "apply"],
    ["E created a file R never had", F1, undefined, DELETED, "apply"],
    ["E recreated a file R saw deleted and left absent", F1, DELETED, DELETED, "apply"],
    ["E made an exec bit change R left alone", fileState(H1, { mode: 0o755 }), F1, F1, "apply"],
    ["R only touched the mtime, E modified", F2, fileState(H1, { mtimeMs: 1 }), fileState(H1, { mtimeMs: 2 }), "apply"],
    ["E turned a file into a folder", dirState(), F1, F1, "apply"],
    ["E turned a folder into a link", linkState("t"), dirState(), dirState(0o700), "apply"],
    ["E retargeted a link R left alone", linkState("new"), linkState("old"), linkState("old"), "apply"],
    ["E deleted a folder R left alone", DELETED, dirState(), dirState(), "apply"],
    ["E created a link where R has nothing", linkState("t"), undefined, DELETED, "apply"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, expected) => {
    expect(decide(remote, base, local)).toBe(expected);
  });
});

describe("decide: R changed the path too → conflict", () => {
  const rows: Row[] = [
    ["both modified the file differently", F3, F1, F2, "conflict"],
    ["R deleted a file E modified", F2, F1, DELETED, "conflict"],
    ["R modified a file E deleted", DELETED, F1, F2, "conflict"],
    ["R created a file where E creates one with different content", F2, undefined, F1, "conflict"],
    ["R created a file where E creates a folder", dirState(), undefined, F1, "conflict"],
    ["R created a folder where E creates a file", F1, undefined, dirState(), "conflict"],
    ["R has a file E never sent, E deletes that path", DELETED, undefined, F1, "conflict"],
    ["R changed only the exec bit, E modified", F2, F1, fileState(H1, { mode: 0o755 }), "conflict"],
    ["R replaced a file with a link, E modified", F2, F1, linkState("x"), "conflict"],
    ["R retargeted a link E retargeted differently", linkState("e"), linkState("old"), linkState("r"), "conflict"],
    ["R recreated a file E had deleted, E recreates it differently", F2, DELETED, F1, "conflict"],
    ["R deleted a folder E turned into a file", F1, dirState(), DELETED, "conflict"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, expected) => {
    expect(decide(remote, base, local)).toBe(expected);
  });
});

describe("decide: E re-sends a state it did not change (as a full resync does)", () => {
  test.each([
    ["R edited the file", F1, F1, F2],
    ["R deleted the file", F1, F1, DELETED],
    ["R turned the file into a folder", F1, F1, dirState()],
    ["R recreated a path E still has deleted", DELETED, DELETED, F1],
  ] as const)("%s: R's edit is neither applied over nor recorded away", (_what, remote, base, local) => {
    expect(["keep", "conflict"]).toContain(decide(remote, base, local));
  });
});

describe("decide: invariants", () => {
  const states: (EntryState | undefined)[] = [undefined, F1, F2, fileState(H1, { mode: 0o755 }), dirState(), linkState("a"), linkState("b"), DELETED];
  const defined = states.filter((s): s is EntryState => s !== undefined);

  test("never overwrites or deletes something R changed: apply only when R's path is as it last synced", () => {
    for (const remote of defined)
      for (const base of states)
        for (const local of defined) {
          const d = decide(remote, base, local);
          if (d !== "apply") continue;
          const untouched = base === undefined ? local.kind === "deleted" : sameContent(local, base);
          expect([remote, base, local, untouched]).toEqual([remote, base, local, true]);
        }
  });

  test("always records when R already holds E's state, whatever the base", () => {
    for (const remote of defined) for (const base of states) expect(decide(remote, base, remote)).toBe("record");
  });
});

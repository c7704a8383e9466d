import { describe, expect, test } from "@jest/globals";
import { adoptPlacement, caseRenames, contentLosingDeletions, planChange, withIntendedMode, type LocalFact, type PullAction } from "@zync/client";
import type { EntryState } from "@zync/protocol";
import { DELETED, dirState, fileState, H1, H2, H3, linkState } from "../../helpers/states.js";

const F1 = fileState(H1);
const F2 = fileState(H2);
const held = (state: EntryState): LocalFact => ({ kind: "held", state });

/** What the planner decided, in a form a table can hold. */
function summary(a: PullAction): string {
  switch (a.kind) {
    case "record":
      return a.retouch ? "record+retouch" : "record";
    case "write":
      return a.aside ? "write-aside" : "write";
    case "conflict":
      return `conflict:${a.reason}`;
    default:
      return a.kind;
  }
}

type Row = [what: string, remote: EntryState, base: EntryState | undefined, local: LocalFact, preferDaemon: boolean, expected: string];

describe("planChange: an edit on R is never overwritten", () => {
  const rows: Row[] = [
    ["E changed a file R left alone", F2, F1, held(F1), false, "write"],
    ["R edited a file E changed", fileState(H3), F1, held(F2), false, "conflict:edited-on-R"],
    ["R edited a file E deleted", DELETED, F1, held(F2), false, "conflict:edited-on-R"],
    ["R deleted a file E changed", F2, F1, held(DELETED), false, "conflict:edited-on-R"],
    ["R created a file where E creates another", F2, undefined, held(F1), false, "conflict:edited-on-R"],
    ["with --prefer-daemon, R's edit is moved aside, never overwritten in place", fileState(H3), F1, held(F2), true, "write-aside"],
    ["E did not change the path (a full comparison re-sends it): R's edit stays", F1, F1, held(F2), false, "keep"],
    ["R put a file where E's folder on the way should be", F1, undefined, { kind: "blocked", fromE: false }, false, "conflict:blocked-by-R"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, preferDaemon, expected) => {
    expect(summary(planChange({ seq: 1, path: "p", remote, base, local }, { preferDaemon }))).toBe(expected);
  });
});

describe("planChange with --merge: only R's edit against E's change is tried as a merge", () => {
  const rows: [what: string, remote: EntryState, base: EntryState | undefined, local: LocalFact, expected: string][] = [
    ["R edited a file E changed", fileState(H3), F1, held(F2), "merge"],
    ["R deleted a file E changed (the executor says why it is no merge)", F2, F1, held(DELETED), "merge"],
    ["E changed a file R left alone: written as always", F2, F1, held(F1), "write"],
    ["E did not change the path: R's edit stays", F1, F1, held(F2), "keep"],
    ["R put a file where E's folder on the way should be", F1, undefined, { kind: "blocked", fromE: false }, "conflict:blocked-by-R"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, expected) => {
    expect(summary(planChange({ seq: 1, path: "p", remote, base, local }, { preferDaemon: false, merge: true }))).toBe(expected);
  });
});

describe("planChange: what R already holds is recorded, and E's mode and mtime are set on it", () => {
  const rows: Row[] = [
    ["R holds E's new content with E's mtime", F2, F1, held(F2), false, "record"],
    ["R holds E's content with another mtime (a killed run, a copy)", fileState(H2, { mtimeMs: 5 }), F1, held(fileState(H2, { mtimeMs: 9 })), false, "record+retouch"],
    ["R holds E's content with other non-exec bits", fileState(H2, { mode: 0o600 }), F1, held(fileState(H2, { mode: 0o644 })), false, "record+retouch"],
    ["both made the folder, modes differ", dirState(0o700), undefined, held(dirState(0o755)), false, "record+retouch"],
    ["both made the same link", linkState("t"), undefined, held(linkState("t")), false, "record"],
    ["both deleted it", DELETED, F1, held(DELETED), false, "record"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, preferDaemon, expected) => {
    expect(summary(planChange({ seq: 1, path: "p", remote, base, local }, { preferDaemon }))).toBe(expected);
  });
});

describe("planChange: type changes and paths blocked on R", () => {
  const rows: Row[] = [
    ["E replaced a file R left alone by a folder", dirState(), F1, held(F1), false, "write"],
    ["E replaced a folder R left alone by a link", linkState("t"), dirState(), held(dirState()), false, "write"],
    ["a file of E's stands where E now has a folder on the way", F1, undefined, { kind: "blocked", fromE: true }, false, "write"],
    ["E deleted a path that cannot exist on R", DELETED, F1, { kind: "blocked", fromE: false }, false, "forget"],
  ];
  test.each(rows)("%s", (_what, remote, base, local, preferDaemon, expected) => {
    expect(summary(planChange({ seq: 1, path: "p", remote, base, local }, { preferDaemon }))).toBe(expected);
  });
});

describe("adoptPlacement: a killed run's placements are recognised as E's", () => {
  test.each([
    ["R holds what the run was placing", F2, F2, true],
    ["the same content with another mtime", fileState(H2, { mtimeMs: 1 }), F2, true],
    ["the rename never happened: R still holds the old content", F2, F1, false],
    ["R edited it after the run placed it", F2, fileState(H3), false],
    ["a deletion that happened", DELETED, DELETED, true],
    ["a deletion that did not happen", DELETED, F1, false],
  ] as const)("%s", (_what, placed, local, expected) => {
    expect(adoptPlacement(placed, local)).toBe(expected);
  });
});

describe("contentLosingDeletions: renames and moved folders lose nothing", () => {
  const bases = new Map<string, EntryState>([
    ["src/a", fileState(H1)],
    ["src/b", fileState(H2)],
    ["src/c", fileState(H3)],
  ]);
  const baseOf = (p: string): EntryState | undefined => bases.get(p);
  test.each([
    ["a folder renamed: every file arrives under the new name", [["src/a", DELETED], ["src/b", DELETED], ["src/c", DELETED], ["lib/a", fileState(H1)], ["lib/b", fileState(H2)], ["lib/c", fileState(H3)]], 0],
    ["the adds may come before the deletes", [["lib/a", fileState(H1)], ["src/a", DELETED]], 0],
    ["real deletions count", [["src/a", DELETED], ["src/b", DELETED]], 2],
    ["one copy arriving covers one deletion only", [["src/a", DELETED], ["x", fileState(H1)], ["src/b", DELETED]], 1],
    ["deleting a path R never had loses nothing", [["other", DELETED]], 0],
    ["a moved folder whose files were edited on the way: as many files arrive as go", [["src/a", DELETED], ["src/b", DELETED], ["lib/a", fileState("4444444444444444")], ["lib/b", fileState("5555555555555555")]], 0],
    ["a file R holds replaced by a folder counts as going", [["src/a", dirState()]], 1],
  ] as const)("%s", (_what, changes, expected) => {
    expect(contentLosingDeletions(changes.map(([path, state]) => ({ path, state })), baseOf)).toBe(expected);
  });
});

describe("caseRenames: a case-only rename on E is done as a rename on a case-insensitive R", () => {
  const held = new Set(["readme.md", "Src", "Src/a.txt", "notes.txt"]);
  const hasBase = (p: string): boolean => held.has(p);
  test.each([
    ["a file, add first", [["README.md", fileState(H1)], ["readme.md", DELETED]], [["readme.md", "README.md"]]],
    ["a file, delete first", [["readme.md", DELETED], ["README.md", fileState(H1)]], [["readme.md", "README.md"]]],
    ["a folder and what it holds: one rename, the folder's", [["src", dirState()], ["src/a.txt", fileState(H1)], ["Src/a.txt", DELETED], ["Src", DELETED]], [["Src", "src"]]],
    ["a delete with an unrelated add is no rename", [["notes.txt", DELETED], ["other.txt", fileState(H1)]], []],
    ["a path R never had is no rename", [["NEW.md", fileState(H1)], ["new.md", DELETED]], []],
    ["the same spelling is no rename", [["notes.txt", DELETED], ["notes.txt", fileState(H1)]], []],
  ] as const)("%s", (_what, changes, expected) => {
    const found = caseRenames(changes.map(([path, state]) => ({ path, state })), hasBase);
    expect(found.map((r) => [r.from, r.to])).toEqual(expected);
  });
});

describe("withIntendedMode: a filesystem that keeps no modes never shows an edit on R", () => {
  const modeless = { foldsCase: true, keepsModes: false };
  test.each([
    ["a file reads with its base's mode", fileState(H1, { mode: 0o777 }), modeless, [fileState(H2, { mode: 0o644 })], 0o644],
    ["without a base, with E's mode", fileState(H1, { mode: 0o777 }), modeless, [undefined, fileState(H1, { mode: 0o755 })], 0o755],
    ["a folder reads with its base's mode", dirState(0o777), modeless, [dirState(0o750)], 0o750],
    ["a POSIX filesystem's mode is what it is", fileState(H1, { mode: 0o755 }), { foldsCase: false, keepsModes: true }, [fileState(H1, { mode: 0o644 })], 0o755],
  ] as const)("%s", (_what, state, traits, sources, mode) => {
    expect(withIntendedMode(state, traits, ...sources)).toMatchObject({ mode });
  });
});

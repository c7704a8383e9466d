import { describe, expect, test } from "@jest/globals";
import {
  ChangeSchema,
  EntryStateSchema,
  PROTOCOL_VERSION,
  sameContent,
  selectVersion,
  SUPPORTED_PROTOCOL_VERSIONS,
  type EntryState,
} from "@zync/protocol";
import { DELETED, dirState, fileState, H1, H2, linkState } from "../../helpers/states.js";

describe("sameContent", () => {
  test("files with the same hash, size and exec bits are the same whatever their mtimes", () => {
    expect(sameContent(fileState(H1, { mtimeMs: 1 }), fileState(H1, { mtimeMs: 2_000_000_000_000 }))).toBe(true);
  });

  test("bits other than exec do not matter for files", () => {
    expect(sameContent(fileState(H1, { mode: 0o644 }), fileState(H1, { mode: 0o600 }))).toBe(true);
    expect(sameContent(fileState(H1, { mode: 0o755 }), fileState(H1, { mode: 0o711 }))).toBe(true);
    expect(sameContent(fileState(H1, { mode: 0o4755 }), fileState(H1, { mode: 0o755 }))).toBe(true);
  });

  test("any exec bit that differs makes files differ", () => {
    expect(sameContent(fileState(H1, { mode: 0o644 }), fileState(H1, { mode: 0o744 }))).toBe(false);
    expect(sameContent(fileState(H1, { mode: 0o755 }), fileState(H1, { mode: 0o754 }))).toBe(false);
    expect(sameContent(fileState(H1, { mode: 0o755 }), fileState(H1, { mode: 0o745 }))).toBe(false);
  });

  test("a different hash or size makes files differ", () => {
    expect(sameContent(fileState(H1), fileState(H2))).toBe(false);
    expect(sameContent(fileState(H1, { size: 1 }), fileState(H1, { size: 2 }))).toBe(false);
  });

  test("folders are the same whatever their modes", () => {
    expect(sameContent(dirState(0o700), dirState(0o755))).toBe(true);
  });

  test("links are the same only with the same target, byte for byte", () => {
    expect(sameContent(linkState("../a"), linkState("../a"))).toBe(true);
    expect(sameContent(linkState("../a"), linkState("../a/"))).toBe(false);
    expect(sameContent(linkState("a"), linkState("./a"))).toBe(false);
  });

  test("deleted equals deleted", () => {
    expect(sameContent(DELETED, { kind: "deleted" })).toBe(true);
  });

  const samples: readonly EntryState[] = [fileState(H1), fileState(H2), dirState(), linkState("x"), linkState("y"), DELETED];

  test("different kinds are never the same content", () => {
    for (const a of samples) for (const b of samples) if (a.kind !== b.kind) expect([a.kind, b.kind, sameContent(a, b)]).toEqual([a.kind, b.kind, false]);
  });

  test("the rule is symmetric", () => {
    const more = [...samples, fileState(H1, { mode: 0o755 }), fileState(H1, { size: 11 }), dirState(0o700)];
    for (const a of more) for (const b of more) expect(sameContent(a, b)).toBe(sameContent(b, a));
  });
});

describe("entry state schema", () => {
  test("accepts each kind and refuses mixed-up fields", () => {
    for (const s of [fileState(H1), dirState(), linkState("t"), DELETED]) expect(EntryStateSchema.safeParse(s).success).toBe(true);
    expect(EntryStateSchema.safeParse({ kind: "dir", mode: 0o755, hash: H1 }).success).toBe(false);
    expect(EntryStateSchema.safeParse({ kind: "symlink", target: "t", mode: 0o777 }).success).toBe(false);
  });

  test("a change must name a valid root and a safe path", () => {
    expect(ChangeSchema.safeParse({ seq: 1, root: "code", path: "a/b", state: DELETED }).success).toBe(true);
    expect(ChangeSchema.safeParse({ seq: 1, root: "code", path: "a/./b", state: DELETED }).success).toBe(false);
    expect(ChangeSchema.safeParse({ seq: 1, root: "-code", path: "a", state: DELETED }).success).toBe(false);
  });
});

describe("selectVersion", () => {
  test("this build prefers a version it supports", () => {
    expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(PROTOCOL_VERSION);
  });

  test("picks the shared version when the peer offers exactly ours", () => {
    expect(selectVersion([...SUPPORTED_PROTOCOL_VERSIONS])).toBe(SUPPORTED_PROTOCOL_VERSIONS[0]);
    expect(selectVersion([PROTOCOL_VERSION])).toBe(PROTOCOL_VERSION);
  });

  test("ignores versions only the peer knows, in whatever order they come", () => {
    expect(selectVersion([PROTOCOL_VERSION + 1, PROTOCOL_VERSION])).toBe(PROTOCOL_VERSION);
    expect(selectVersion([PROTOCOL_VERSION, PROTOCOL_VERSION + 7])).toBe(PROTOCOL_VERSION);
  });

  test("picks the newest version both know", () => {
    const newestOurs = Math.max(...SUPPORTED_PROTOCOL_VERSIONS);
    expect(selectVersion([...SUPPORTED_PROTOCOL_VERSIONS].reverse())).toBe(newestOurs);
  });

  test("returns undefined when nothing is shared", () => {
    expect(selectVersion([])).toBeUndefined();
    expect(selectVersion([Math.max(...SUPPORTED_PROTOCOL_VERSIONS) + 1])).toBeUndefined();
    expect(selectVersion([0, -1])).toBeUndefined();
  });
});

import { describe, expect, test } from "@jest/globals";
import {
  assertWirePath,
  depthOf,
  ErrorCode,
  isRootName,
  isSameOrBelow,
  isWirePath,
  MAX_PATH_LENGTH,
  parentOf,
  ProtocolError,
  resolveInside,
  wirePathProblem,
} from "@zync/protocol";

const UNSAFE: readonly [string, string][] = [
  ["the empty path", ""],
  ["a bare '..'", ".."],
  ["a bare '.'", "."],
  ["a '..' in the middle", "a/../b"],
  ["a trailing '..'", "a/.."],
  ["an absolute path", "/abs"],
  ["the root itself", "/"],
  ["a doubled slash", "a//b"],
  ["a trailing slash", "a/"],
  ["a leading './'", "./a"],
  ["a '.' segment in the middle", "a/./b"],
  ["a backslash", "a\\b"],
  ["a backslash escape upward", "..\\etc"],
  ["a drive letter with a backslash", "c:\\windows"],
  ["a NUL byte", "a\0b"],
  ["a path one character too long", "a".repeat(MAX_PATH_LENGTH + 1)],
];

const SAFE: readonly string[] = [
  "a",
  "a/b/c.txt",
  "main file ü.ts",
  "src/deep/naïve café/日本語 ファイル.md",
  " leading and trailing spaces ",
  ".hidden/.env",
  "...",
  "a..b/..c/d..",
  "-rf",
  // Legal POSIX names; zync's paths are POSIX on both sides, so a colon is just a character.
  "C:x",
  "emoji 🎉/x",
  "x".repeat(MAX_PATH_LENGTH),
];

describe("wire path rules", () => {
  test.each(UNSAFE)("wirePathProblem refuses %s", (_what, rel) => {
    const problem = wirePathProblem(rel);
    expect(typeof problem).toBe("string");
    expect(problem!.length).toBeGreaterThan(0);
    expect(isWirePath(rel)).toBe(false);
  });

  test.each(UNSAFE)("resolveInside throws BAD_PATH for %s", (_what, rel) => {
    let thrown: unknown;
    try {
      resolveInside("/srv/root", rel);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).code).toBe(ErrorCode.BadPath);
  });

  test.each(SAFE.map((p) => [p.length > 40 ? `${p.slice(0, 20)}… (${p.length} chars)` : p, p]))("accepts %j", (_label, rel) => {
    expect(wirePathProblem(rel)).toBeUndefined();
    expect(isWirePath(rel)).toBe(true);
    expect(() => assertWirePath(rel)).not.toThrow();
    expect(resolveInside("/srv/root", rel)).toBe(`/srv/root/${rel}`);
  });

  test("resolveInside joins without doubling a trailing slash of the root", () => {
    expect(resolveInside("/srv/root/", "a/b")).toBe("/srv/root/a/b");
  });

  test("resolveInside refuses a relative root", () => {
    expect(() => resolveInside("srv/root", "a")).toThrow(ProtocolError);
  });

  test("the BAD_PATH message quotes the path and says what is wrong", () => {
    expect(() => assertWirePath("a/../b")).toThrow(/"a\/\.\.\/b".*'\.\.'/);
  });

  test("parentOf, depthOf and isSameOrBelow follow the segments", () => {
    expect(parentOf("a")).toBe("");
    expect(parentOf("a/b/c")).toBe("a/b");
    expect(depthOf("a")).toBe(1);
    expect(depthOf("a/b/c")).toBe(3);
    expect(isSameOrBelow("a/b", "a")).toBe(true);
    expect(isSameOrBelow("a", "a")).toBe(true);
    expect(isSameOrBelow("ab", "a")).toBe(false);
    expect(isSameOrBelow("a", "a/b")).toBe(false);
  });

  test("root names allow letters, digits, '.', '_' and '-' but must start with a letter or digit", () => {
    for (const ok of ["code", "A1", "my.proj_x-2", "9", "a".repeat(64)]) expect(isRootName(ok)).toBe(true);
    for (const bad of ["", "..", ".hidden", "-x", "a b", "a/b", "a:b", "ü", "a".repeat(65)]) expect(isRootName(bad)).toBe(false);
  });
});

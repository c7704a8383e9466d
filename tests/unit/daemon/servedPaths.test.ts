import { describe, expect, test } from "@jest/globals";
import { isIgnoreFile } from "@zync/daemon";

describe("isIgnoreFile", () => {
  test.each([
    [".zyncignore", true],
    ["sub/.zyncignore", true],
    [".gitignore", true],
    ["a/b/c/.gitignore", true],
    ["my.gitignore", false],
    [".gitignore.bak", false],
    ["sub/x.zyncignore", false],
    [".gitignore/file", false],
    ["src/main.ts", false],
  ])("%s -> %s", (rel, expected) => {
    expect(isIgnoreFile(rel)).toBe(expected);
  });
});

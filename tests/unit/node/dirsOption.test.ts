import { afterAll, describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { ExitCode, parseDirs, requireExistingDirs, UsageError } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

function usageError(fn: () => unknown): UsageError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(UsageError);
  expect((thrown as UsageError).exitCode).toBe(ExitCode.Usage);
  return thrown as UsageError;
}

describe("parseDirs", () => {
  test("parses name:/absolute/path entries in order", () => {
    expect(parseDirs(["code:/srv/code", "docs:/home/me/docs"])).toEqual([
      { name: "code", abs: "/srv/code" },
      { name: "docs", abs: "/home/me/docs" },
    ]);
  });

  test("a leading ~/ is the home folder, as the shell would have made it at the start of a word", () => {
    expect(parseDirs(["code:~/code", "home:~", "odd:./~/x"], "/work/here")).toEqual([
      { name: "code", abs: `${homedir()}/code` },
      { name: "home", abs: homedir() },
      { name: "odd", abs: "/work/here/~/x" },
    ]);
  });

  test("takes a relative path from the given working folder", () => {
    expect(parseDirs(["code:proj/src", "up:../other"], "/work/here")).toEqual([
      { name: "code", abs: "/work/here/proj/src" },
      { name: "up", abs: "/work/other" },
    ]);
  });

  test("normalises the path: '..', '.' and trailing slashes go", () => {
    expect(parseDirs(["a:/srv/x/../y/./z/"])).toEqual([{ name: "a", abs: "/srv/y/z" }]);
  });

  test("splits at the first colon, so the path may contain colons", () => {
    expect(parseDirs(["code:/srv/a:b"])).toEqual([{ name: "code", abs: "/srv/a:b" }]);
  });

  test("accepts names of letters, digits, '.', '_' and '-'", () => {
    expect(parseDirs(["my.proj_2-x:/p"])[0]?.name).toBe("my.proj_2-x");
  });

  test("needs at least one entry", () => {
    expect(usageError(() => parseDirs([])).message).toMatch(/at least one/);
  });

  test.each([
    ["no colon", "code"],
    ["an empty name", ":/srv/code"],
    ["an empty path", "code:"],
  ])("refuses an entry with %s", (_what, entry) => {
    expect(usageError(() => parseDirs([entry])).message).toContain(JSON.stringify(entry));
  });

  test.each([
    ["a space", "my code:/p"],
    ["a slash", "a/b:/p"],
    ["a leading dot", ".hidden:/p"],
    ["'..'", "..:/p"],
    ["a leading dash", "-x:/p"],
    ["a non-ASCII letter", "cödé:/p"],
  ])("refuses a name with %s", (_what, entry) => {
    usageError(() => parseDirs([entry]));
  });

  test("refuses a name given twice", () => {
    expect(usageError(() => parseDirs(["code:/a", "code:/b"])).message).toMatch(/twice/);
  });
});

describe("requireExistingDirs", () => {
  test("accepts existing folders", () => {
    expect(() => requireExistingDirs([{ name: "a", abs: tempDir() }])).not.toThrow();
  });

  test("refuses a missing folder or a file, naming the root", () => {
    const dir = tempDir();
    writeFileSync(`${dir}/f`, "x");
    expect(usageError(() => requireExistingDirs([{ name: "gone", abs: `${dir}/missing` }])).message).toMatch(/root gone/);
    expect(usageError(() => requireExistingDirs([{ name: "file", abs: `${dir}/f` }])).message).toMatch(/root file/);
  });
});

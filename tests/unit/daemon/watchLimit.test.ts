import { describe, expect, test } from "@jest/globals";
import { effectiveWatchLimit, limitNeeded, topmostFolders, WATCH_LIMIT_FILES, watchLimitSentence } from "@zync/daemon";

describe("which subtrees the rescans of unwatched folders walk", () => {
  const cases: [string, string[], string[]][] = [
    ["none", [], []],
    ["one folder", ["a"], ["a"]],
    ["a folder below another is covered by it", ["a", "a/b", "a/b/c"], ["a"]],
    ["siblings that share a prefix are both kept", ["a", "a-b", "ab", "a/x"], ["a", "a-b", "ab"]],
    ["deep folders with no unwatched parent are kept", ["x/y/z", "x/q"], ["x/q", "x/y/z"]],
    ["the root folder covers everything", ["a", "", "b/c"], [""]],
    ["repeats are dropped", ["b", "b", "a"], ["a", "b"]],
  ];
  test.each(cases)("%s", (_what, folders, tops) => {
    expect(topmostFolders(folders)).toEqual(tops);
  });
});

describe("the limit in force", () => {
  const [machine, namespace] = WATCH_LIMIT_FILES;
  const cases: [string, Record<string, string>, number | undefined][] = [
    ["the machine's alone", { [machine]: "8192\n" }, 8192],
    ["a user namespace's lower limit wins", { [machine]: "192536\n", [namespace]: "100\n" }, 100],
    ["the machine's lower limit wins", { [machine]: "50\n", [namespace]: "1048576\n" }, 50],
    ["nothing readable", {}, undefined],
    ["text that is not a number is passed over", { [machine]: "lots\n", [namespace]: "77" }, 77],
  ];
  test.each(cases)("%s", (_what, files, limit) => {
    expect(effectiveWatchLimit((f) => files[f])).toBe(limit);
  });
});

describe("the limit that lets every folder be watched", () => {
  const cases: [string, { watched: number; needed: number; limit: number | undefined }, number | undefined][] = [
    ["the missing watches on top of the limit", { watched: 96, needed: 1234, limit: 100 }, 1238],
    ["other programs' watches stay counted", { watched: 10, needed: 20, limit: 8192 }, 8202],
    ["nothing missing", { watched: 5, needed: 5, limit: 100 }, 100],
    ["no limit known", { watched: 1, needed: 9, limit: undefined }, undefined],
  ];
  test.each(cases)("%s", (_what, s, target) => {
    expect(limitNeeded(s)).toBe(target);
  });
});

describe("the sentence a root short of watches gets", () => {
  const cases: [string, Parameters<typeof watchLimitSentence>[0], string][] = [
    [
      "with the limit known",
      { root: "code", watched: 100, needed: 12_345, limit: 100, rescanSeconds: 30 },
      "root code needs 12,345 inotify watches (one per folder) but got only 100, because the system's limit of 100 inotify watches is reached; raise it with 'sysctl fs.inotify.max_user_watches=12345' (as root); until then its 12,245 unwatched folder(s) are rescanned every 30 s and the rest syncs live",
    ],
    [
      "with the limit unknown",
      { root: "web", watched: 0, needed: 3, limit: undefined, rescanSeconds: 1.5 },
      "root web needs 3 inotify watches (one per folder) but got only 0, because the system's limit on inotify watches is reached; raise fs.inotify.max_user_watches; until then its 3 unwatched folder(s) are rescanned every 1.5 s and the rest syncs live",
    ],
  ];
  test.each(cases)("%s", (_what, s, sentence) => {
    expect(watchLimitSentence(s)).toBe(sentence);
    expect(sentence.split(/[.!?](\s|$)/).filter((x) => x.trim() !== "")).toHaveLength(1);
  });
});

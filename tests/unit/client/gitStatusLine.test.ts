import { describe, expect, test } from "@jest/globals";
import { gitHeadWords, printStatus, type ClientStatus } from "@zync/client";

describe("E's git state as zync-client status prints it", () => {
  test.each([
    [{ branch: "main", commit: "0123456789abcdef0123456789abcdef01234567" }, "branch main, commit 0123456789ab"],
    [{ branch: null, commit: "0123456789abcdef0123456789abcdef01234567" }, "detached HEAD, commit 0123456789ab"],
    [{ branch: "new", commit: null }, "branch new, no commit yet"],
    // A branch name comes from E: a control character in it is printed escaped.
    [{ branch: "evil\u001b[2J\nname", commit: null }, "branch evil\\x1b[2J\\x0aname, no commit yet"],
  ] as [{ branch: string | null; commit: string | null }, string][])("%j", (g, words) => {
    expect(gitHeadWords(g)).toBe(words);
  });

  test("a root of a git work tree gets a line with E's branch and commit, and the wait for git with its reason escaped", () => {
    const status: ClientStatus = {
      daemon: { url: "ws://127.0.0.1:8000", reachable: false, error: "not checked" },
      roots: [
        {
          name: "code",
          path: "/r/code",
          cursor: 7,
          caseInsensitive: false,
          keepsModes: true,
          gitOnE: { branch: "topic", commit: "0123456789abcdef0123456789abcdef01234567", waitingForGit: { since: "2026-12-01T10:00:00.000Z", reason: "a rebase\u0007 is in progress" }, heard: "2026-12-01T10:00:01.000Z" },
        },
      ],
      lastSync: null,
      conflicts: [],
      notWritten: [],
    };
    const lines: string[] = [];
    printStatus(status, (l) => lines.push(l));
    const git = lines.find((l) => l.startsWith("  git on E: "));
    expect(git).toMatch(/^ {2}git on E: branch topic, commit 0123456789ab; waiting for git since .+ \(a rebase\\x07 is in progress\) \(as heard .+\)$/);
  });
});

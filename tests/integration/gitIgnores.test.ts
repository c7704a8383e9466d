import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runClientOnce, startTestDaemon } from "../helpers/bins.js";
import { ensureGit, gitIgnored, ignoreRichRepo } from "../helpers/gitRepo.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

describe("git ignores", () => {
  test("a daemon on a git work tree serves exactly what git does not ignore, and follows a nested .gitignore edited while it runs", async () => {
    const e = tempDir("zync-git-e-");
    const r = `${tempDir()}/target`;
    ignoreRichRepo(e, join(tempDir(), "user-excludes"));
    const skip = (ignored: Set<string>) => (rel: string) => rel === ".git" || ignored.has(rel);
    const before = gitIgnored(e);
    expect(before.has("sub/deep/note.txt")).toBe(true);
    expect(before.size).toBeGreaterThan(10);

    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e, skip(before)));

      // A negation added to a nested .gitignore: the path it re-includes is indexed at once, a new ignored one is not.
      writeFileSync(`${e}/sub/deep/.gitignore`, "*.txt\n!wanted.txt\n!note.txt\n");
      writeFileSync(`${e}/late.o`, "object\n");
      writeFileSync(`${e}/zz-marker.md`, "after the edit\n");
      await waitFor(
        async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && existsSync(`${r}/zz-marker.md`) && existsSync(`${r}/sub/deep/note.txt`),
        "sub/deep/note.txt and the marker on R",
        20_000,
        100,
      );
      const after = gitIgnored(e);
      expect(after.has("sub/deep/note.txt")).toBe(false);
      expect(after.has("late.o")).toBe(true);
      expect(snapshotTree(r)).toEqual(snapshotTree(e, skip(after)));
    } finally {
      await daemon.stop();
    }
  });
});

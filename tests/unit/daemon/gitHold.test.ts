import { afterAll, describe, expect, test } from "@jest/globals";
import { rmSync, writeFileSync } from "node:fs";
import { GitHold, type HeldPaths } from "@zync/daemon";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

/** A hold on a bare folder standing in for `.git`, its timer looks pushed far away, so each test drives check(). */
function holdOn(gitDir: string, flushHints?: () => void) {
  const recorded: { paths: HeldPaths; why: string }[] = [];
  let hold: GitHold | undefined;
  hold = new GitHold({
    root: "code",
    dirs: { gitDir, commonDir: gitDir },
    timing: { ceilingMs: 30_000, settleMs: 0 },
    pollMs: 3_600_000,
    onHold: () => undefined,
    onRecord: (paths, why) => recorded.push({ paths, why }),
    onState: () => undefined,
    ...(flushHints ? { flushHints: () => flushHints() } : {}),
  });
  return { hold, recorded, close: () => hold?.close() };
}

describe("a git hold and the watcher's coalesced hints", () => {
  test("hints the watcher still coalesces when git is done are asked for first, and land in the batch", () => {
    const git = tempDir("zync-git-");
    let coalescing: string[] = [];
    const { hold, recorded, close } = holdOn(git, () => {
      const paths = coalescing;
      coalescing = [];
      if (paths.length > 0) hold.offer(paths);
    });
    try {
      writeFileSync(`${git}/index.lock`, "");
      expect(hold.offer(["a.txt"])).toBe(true);
      // git's last write is still in the watcher's debounce when git removes its lock.
      coalescing = ["b.txt"];
      rmSync(`${git}/index.lock`);
      hold.check();
      expect(recorded).toEqual([{ paths: ["a.txt", "b.txt"], why: "release" }]);
      expect(hold.holding).toBe(false);
    } finally {
      close();
    }
  });

  test("the event of index.lock's removal, which names it, ends the hold instead of prolonging it", () => {
    const git = tempDir("zync-git-");
    const { hold, recorded, close } = holdOn(git);
    try {
      writeFileSync(`${git}/index.lock`, "");
      hold.check();
      expect(hold.offer(["saved.txt"])).toBe(true);
      rmSync(`${git}/index.lock`);
      hold.check(["index.lock"]);
      expect(recorded).toEqual([{ paths: ["saved.txt"], why: "release" }]);
    } finally {
      close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitOutput, loadIgnoreRules, type GitRunner } from "@zync/node";
import { ensureGit, git, writeTree } from "../../helpers/gitRepo.js";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

beforeAll(() => ensureGit());
afterAll(() => removeTempDirs());

/** A repository whose `out/` is ignored but `out/tracked.bin` is tracked (so only the index keeps it synced). */
function trackedButIgnored(): string {
  const root = tempDir("zync-git-");
  git(root, ["init", "-q", "-b", "main"]);
  writeTree(root, { ".gitignore": "out/\n", "out/tracked.bin": "x", "out/new.bin": "x", "a.tmp": "x" });
  git(root, ["add", "-f", "out/tracked.bin"]);
  return root;
}

/** A git runner whose `ls-files` waits for the test to release it, with the answer the test chooses. */
function heldLsFiles(): { run: GitRunner; asked: () => boolean; answer: (how: "real" | "fail") => void } {
  let release: ((how: "real" | "fail") => void) | undefined;
  let asked = false;
  const run: GitRunner = async (cwd, args, maxBytes) => {
    if (args[0] !== "ls-files") return gitOutput(cwd, args, maxBytes);
    asked = true;
    const how = await new Promise<"real" | "fail">((r) => (release = r));
    return how === "fail" ? undefined : gitOutput(cwd, args, maxBytes);
  };
  return { run, asked: () => asked, answer: (how) => release?.(how) };
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setImmediate(r));
  }
}

describe("reloading the rules of a git work tree", () => {
  test("a reload asks git without blocking the event loop", async () => {
    const root = trackedButIgnored();
    const rules = loadIgnoreRules(root);
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    await rules.reload();
    counting = false;
    // git runs as a child process while the loop goes on turning (a blocking call would leave no turn at all).
    expect(turns).toBeGreaterThan(0);
    expect(rules.ignores("out/tracked.bin", false)).toBe(false);
  });

  test("until git has answered, the rules in force keep answering; then the new ones replace them at once", async () => {
    const root = trackedButIgnored();
    const held = heldLsFiles();
    const rules = loadIgnoreRules(root, [], { runGit: held.run });
    expect([rules.ignores("out/tracked.bin", false), rules.ignores("a.tmp", false)]).toEqual([false, false]);
    writeFileSync(join(root, ".gitignore"), "out/\n*.tmp\n");
    git(root, ["rm", "-q", "--cached", "out/tracked.bin"]);
    const reloaded = rules.reload();
    await until(held.asked);
    expect([rules.ignores("out/tracked.bin", false), rules.ignores("a.tmp", false)]).toEqual([false, false]);
    held.answer("real");
    await reloaded;
    expect([rules.ignores("out/tracked.bin", false), rules.ignores("a.tmp", false)]).toEqual([true, true]);
  });

  test("when git ls-files fails, the files git tracked before stay synced (no path flaps to ignored)", async () => {
    const root = trackedButIgnored();
    const held = heldLsFiles();
    const problems: string[] = [];
    const rules = loadIgnoreRules(root, [], { runGit: held.run, onGitProblem: (m) => problems.push(m) });
    writeFileSync(join(root, ".gitignore"), "out/\n*.tmp\n");
    const reloaded = rules.reload();
    await until(held.asked);
    held.answer("fail");
    await reloaded;
    expect(rules.explain("out/tracked.bin", false)).toEqual({ ignored: false, tracked: true });
    expect(rules.ignores("out/new.bin", false)).toBe(true);
    // The ignore files were still read again.
    expect(rules.ignores("a.tmp", false)).toBe(true);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/git ls-files failed .* still synced/);
  });

  test("reloads asked for while one runs are served by one more reload after it", async () => {
    const root = trackedButIgnored();
    const calls: string[][] = [];
    const run: GitRunner = (cwd, args, maxBytes) => {
      calls.push([...args]);
      return gitOutput(cwd, args, maxBytes);
    };
    const rules = loadIgnoreRules(root, [], { runGit: run });
    const first = rules.reload();
    writeFileSync(join(root, ".gitignore"), "out/\n*.tmp\n");
    const second = rules.reload();
    const third = rules.reload();
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    expect(calls.filter((a) => a[0] === "ls-files")).toHaveLength(2);
    expect(rules.ignores("a.tmp", false)).toBe(true);
  });
});

describe("git's output is read with a bound", () => {
  test("past its bound a git command counts as failed; within it the whole output comes back", async () => {
    const root = trackedButIgnored();
    const whole = await gitOutput(root, ["ls-files", "-z", "--cached"]);
    expect(whole).toBe("out/tracked.bin\0");
    expect(await gitOutput(root, ["ls-files", "-z", "--cached"], 8)).toBeUndefined();
    expect(await gitOutput(root, ["no-such-command"])).toBeUndefined();
  });
});

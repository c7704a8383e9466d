import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { HookRunner, parseHookRule, type ClientEvent, type HookResult, type HookRule } from "@zync/client";
import type { Logger } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { waitFor } from "../../helpers/waitFor.js";

afterAll(removeTempDirs);

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, verbose: () => undefined };

function rule(text: string): HookRule {
  const r = parseHookRule(text);
  if ("problem" in r) throw new Error(r.problem);
  return r;
}

function runner(rules: HookRule[], root: string) {
  const results: HookResult[] = [];
  const events: ClientEvent[] = [];
  const output: string[] = [];
  const hooks = new HookRunner(rules, {
    roots: new Map([["code", root]]),
    logger: quiet,
    events: (e) => events.push(e),
    output: (_stream, line) => output.push(line),
    record: (r) => results.push(r),
  });
  return { hooks, results, events, output };
}

const listed = (path: string): string[] => readFileSync(path, "utf8").split("\u0000").filter((p) => p !== "").sort();

describe("the hook runner", () => {
  test("paths a failed pass placed are held back and run with the next pass that lands whole", async () => {
    const root = tempDir();
    const out = tempDir();
    const { hooks, results } = runner([rule(`*.txt=cp "$ZYNC_CHANGED_FILE" '${out}/list'`)], root);
    hooks.defer([{ root: "code", path: "placed-before-the-failure.txt" }]);
    expect(existsSync(`${out}/list`)).toBe(false);
    hooks.afterPass([{ root: "code", path: "next.txt" }, { root: "code", path: "other.md" }]);
    await hooks.idle();
    expect(listed(`${out}/list`)).toEqual(["next.txt", "placed-before-the-failure.txt"]);
    expect(results).toEqual([expect.objectContaining({ rule: expect.stringMatching(/^\*\.txt=/), root: "code", files: 2, status: 0, signal: null })]);
  });

  test("a pass with no matching path runs nothing", async () => {
    const { hooks, results, events } = runner([rule("*.proto=exit 1")], tempDir());
    hooks.afterPass([{ root: "code", path: "a.txt" }]);
    await hooks.idle();
    expect(results).toEqual([]);
    expect(events).toEqual([]);
  });

  test("stopping ends a running command (its whole process group) and records how it ended", async () => {
    const out = tempDir();
    const { hooks, results, events } = runner([rule(`*.txt=sleep 60 & echo $! > '${out}/child'; wait`)], tempDir());
    hooks.afterPass([{ root: "code", path: "a.txt" }]);
    await waitFor(() => existsSync(`${out}/child`) && readFileSync(`${out}/child`, "utf8").trim() !== "", "the hook's child process");
    const child = Number(readFileSync(`${out}/child`, "utf8").trim());
    await hooks.stop();
    expect(results).toHaveLength(1);
    expect(results[0]!.status === 0).toBe(false);
    expect(events.map((e) => e.event)).toEqual(["hook-started", "hook-finished"]);
    // The command's own child went with it.
    await waitFor(() => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    }, "the hook's child to end");
    // Nothing runs after a stop.
    hooks.afterPass([{ root: "code", path: "b.txt" }]);
    await hooks.idle();
    expect(results).toHaveLength(1);
  });

  test("a command that prints control characters reaches the output escaped and prefixed", async () => {
    const { hooks, output } = runner([rule("*.txt=printf 'red \\033[31m\\nsecond line\\n'")], tempDir());
    hooks.afterPass([{ root: "code", path: "a.txt" }]);
    await hooks.idle();
    expect(output).toEqual(["hook *.txt: red \\x1b[31m", "hook *.txt: second line"]);
  });
});

import { isDeepStrictEqual } from "node:util";
import { expect } from "@jest/globals";
import { runClientOnce, type TestDaemon } from "./bins.js";
import { snapshotTree } from "./treeSnapshot.js";
import { waitFor } from "./waitFor.js";

/** What one `zync-client --once` run printed and how it ended. */
export type RunResult = Awaited<ReturnType<typeof runClientOnce>>;

/**
 * Runs `zync-client --once` again and again (the daemon's watcher needs a moment to record a change) until a run
 * leaves R equal to E or a run fails, then asserts that the last run succeeded quietly and that R is in step.
 * Returns the last run, so a test can check what it reported.
 */
export async function pullUntilInStep(
  daemon: TestDaemon,
  clientDb: string,
  root: { name: string; e: string; r: string },
  extra: readonly string[] = [],
  timeoutMs = 20_000,
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  let last: RunResult | undefined;
  try {
    await waitFor(
      async () => {
        last = await runClientOnce(daemon, clientDb, [`${root.name}:${root.r}`], extra, env);
        return last.code !== 0 || isDeepStrictEqual(snapshotTree(root.r), snapshotTree(root.e));
      },
      `a --once run to bring ${root.r} in step with ${root.e}`,
      timeoutMs,
    );
  } catch (err) {
    if (last === undefined) throw err;
    // Timed out: the assertions below show how the trees still differ.
  }
  const run = last!;
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  expect(snapshotTree(root.r)).toEqual(snapshotTree(root.e));
  return run;
}

import { afterAll, describe, test } from "@jest/globals";
import { existsSync } from "node:fs";
import { conflictLines, expectSeeded, FaultRig, notableLines, treeDiff, waitForConvergence } from "../helpers/faultRig.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";
import { Rng, Workload, faultSettings, type WorkloadOptions } from "../helpers/workload.js";

afterAll(removeTempDirs);

const settings = faultSettings(240);
const SETTLE_MS = 30_000;
/** Operations between two kills. */
const OPS_PER_ROUND = 60;

/**
 * Churn on E while the client and the daemon are SIGKILLed at random points (the client also right in the
 * middle of a pull, once it has placed part of a batch) and started again on the same databases. R never edits
 * anything, so at the end R must equal E and no conflict may ever have been reported.
 */
type Kill = "client mid-pull" | "client at random" | "daemon" | "both";
const EVERY_KILL: readonly Kill[] = ["client mid-pull", "client mid-pull", "client at random", "daemon", "both"];

async function churnWithKills(seed: number, ops: number, opts: WorkloadOptions, kills: readonly Kill[] = EVERY_KILL): Promise<void> {
  console.log(`kills during churn: seed ${seed}, ${ops} operations (replay with ZYNC_FAULT_SEED=${seed})`);
  const rig = await FaultRig.create();
  // While the client is down, E's deletions pile up past the client's mass-deletion guard, which would then
  // (rightly) wait for a human; the guard has its own scenario (churn with big folder moves).
  const clientArgs = ["--allow-mass-delete"];
  const w = new Workload(rig.e, new Rng(seed), opts);
  // Kill decisions come from their own sequence, so they do not shift the workload's.
  const killer = w.rng.fork(1);
  const events: string[] = [];
  const context = (): string =>
    `kills:\n${events.join("\n")}\nlast operations on E:\n${w.tail()}\nclient:\n${notableLines(rig.clientOutput())}\ndaemon:\n${notableLines(rig.daemonOutput())}`;
  const startDaemon = async (): Promise<void> => {
    try {
      await rig.startDaemon();
    } catch (err) {
      expectSeeded(seed, "the daemon restarted on its database", (err as Error).message, "listening", context);
    }
  };
  try {
    w.populate(100);
    await startDaemon();
    rig.startClient(clientArgs);
    expectSeeded(seed, "R equals E after the first sync", await waitForConvergence(rig.e, rig.r, SETTLE_MS), [], context);

    const rounds = Math.max(3, Math.round(ops / OPS_PER_ROUND));
    for (let round = 1; round <= rounds; round++) {
      const action = killer.pick(kills);
      if (action === "client mid-pull") {
        // A batch of bigger files in a new folder; the client is killed once some, not all, are in place.
        const dir = w.makeDir();
        const batch: string[] = [];
        for (let i = 0; i < 40; i++) batch.push(w.createFile(dir, killer.between(16, 96) * 1024).path);
        const placed = (): number => batch.filter((p) => existsSync(`${rig.r}/${p}`)).length;
        await waitFor(() => placed() > 0, "the client to place part of the batch", 15_000, 5).catch(() => undefined);
        const got = placed();
        await rig.killClient();
        events.push(`round ${round}: SIGKILL client with ${got}/${batch.length} files of ${dir} placed`);
        // E changes the same files while the client is away: the ones the killed run placed are E's content.
        for (const p of batch) if (killer.chance(0.5)) w.overwrite(p, killer.between(1, 8) * 1024);
        await w.churn(OPS_PER_ROUND / 2);
        rig.startClient(clientArgs);
      } else if (action === "client at random") {
        await w.churn(killer.int(OPS_PER_ROUND / 2));
        await rig.killClient();
        events.push(`round ${round}: SIGKILL client after op #${w.ops.length}`);
        await w.churn(killer.int(OPS_PER_ROUND / 4));
        rig.startClient(clientArgs);
      } else {
        await w.churn(killer.int(OPS_PER_ROUND / 2));
        await rig.killDaemon();
        if (action === "both") await rig.killClient();
        events.push(`round ${round}: SIGKILL ${action === "both" ? "daemon and client" : "daemon"} after op #${w.ops.length}`);
        // Changes made while nothing watches E; the restarted daemon finds them in its scan.
        await w.churn(killer.int(OPS_PER_ROUND / 4));
        await startDaemon();
        if (action === "both") rig.startClient(clientArgs);
      }
      await w.churn(OPS_PER_ROUND / 2);
    }
    // E is quiet from here on.
    const live = await waitForConvergence(rig.e, rig.r, SETTLE_MS);
    expectSeeded(seed, `paths where R differs from E ${SETTLE_MS / 1000} s after E went quiet (live client)`, w.explain(live), [], context);
    await rig.stopClient();
    const run = await rig.once(clientArgs);
    expectSeeded(seed, "the final --once run", { code: run.code, conflicts: conflictLines(run.stderr) }, { code: 0, conflicts: [] }, context);
    expectSeeded(seed, "paths where R differs from E after the final --once", w.explain(treeDiff(rig.e, rig.r)), [], context);
    expectSeeded(seed, "conflicts reported though R edited nothing", conflictLines(rig.clientOutput()), [], context);
    expectSeeded(seed, "open conflicts in zync-client status", await rig.clientConflicts(), [], context);
  } finally {
    await rig.close();
  }
}

const timeout = settings.seeds.length * (settings.ops * 40 + 150_000);

const title =
  "after SIGKILLs of the client (mid-pull too) and of the daemon at random points, restarted on the same databases, R converges to E by hash and no false conflict is ever reported";

const baseline: WorkloadOptions = { keepMtimeRewrites: false, maxMoveShare: 0.1, typeChanges: false, linksThroughFiles: false };

describe("kills during churn", () => {
  test(
    "after SIGKILLs of the daemon at random points, restarted on its database while the client keeps running, R converges to E by hash and no false conflict is ever reported",
    async () => {
      for (const seed of settings.seeds) await churnWithKills(seed, settings.ops, baseline, ["daemon"]);
    },
    timeout,
  );

  test(
    `${title}`,
    async () => {
      for (const seed of settings.seeds) await churnWithKills(seed, settings.ops, baseline);
    },
    timeout,
  );

  test(
    "the daemon restarts after a kill whatever the tree holds: symlinks whose target runs through a file too",
    async () => {
      for (const seed of settings.seeds) await churnWithKills(seed, settings.ops, { ...baseline, linksThroughFiles: true });
    },
    timeout,
  );
});

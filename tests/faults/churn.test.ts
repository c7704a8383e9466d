import { afterAll, describe, test } from "@jest/globals";
import { conflictLines, expectSeeded, failedPassLines, FaultRig, mtimeDrift, notableLines, treeDiff, waitForConvergence } from "../helpers/faultRig.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { Rng, Workload, faultSettings, type WorkloadOptions } from "../helpers/workload.js";

afterAll(removeTempDirs);

const settings = faultSettings(200);
/** How long R may take to equal E once E is quiet ("within seconds", with room for a loaded 2-core box). */
const SETTLE_MS = 30_000;

async function churnWithLiveClient(seed: number, ops: number, opts: WorkloadOptions): Promise<void> {
  console.log(`churn with a live client: seed ${seed}, ${ops} operations (replay with ZYNC_FAULT_SEED=${seed})`);
  const rig = await FaultRig.create();
  const w = new Workload(rig.e, new Rng(seed), opts);
  const context = (): string => `last operations on E:\n${w.tail()}\nclient:\n${notableLines(rig.clientOutput())}\ndaemon:\n${notableLines(rig.daemonOutput())}`;
  try {
    w.populate(100);
    await rig.startDaemon();
    rig.startClient();
    expectSeeded(seed, "R equals E after the first sync", await waitForConvergence(rig.e, rig.r, SETTLE_MS), [], context);

    await w.churn(ops);
    // E is quiet from here on.
    const live = await waitForConvergence(rig.e, rig.r, SETTLE_MS);
    expectSeeded(seed, `paths where R differs from E ${SETTLE_MS / 1000} s after E went quiet (live client)`, w.explain(live), [], context);
    expectSeeded(seed, "passes the live client gave up", failedPassLines(rig.clientOutput()), [], context);
    await rig.stopClient();

    const run = await rig.once();
    expectSeeded(seed, "the final --once run", { code: run.code, conflicts: conflictLines(run.stderr) }, { code: 0, conflicts: [] }, context);
    expectSeeded(seed, "paths where R differs from E after the final --once", w.explain(treeDiff(rig.e, rig.r)), [], context);
    expectSeeded(seed, "files whose mtime on R is more than 1 s from E's", mtimeDrift(rig.e, rig.r, 1000), [], context);
    expectSeeded(seed, "conflicts reported though R edited nothing", conflictLines(rig.clientOutput()), [], context);
  } finally {
    await rig.close();
  }
}

const timeout = settings.seeds.length * (settings.ops * 20 + 120_000);

/** The plain operations; each riskier kind is added by a test of its own below, and all of them by the last. */
const baseline: WorkloadOptions = { keepMtimeRewrites: false, maxMoveShare: 0.1, typeChanges: false };

describe("convergence under churn", () => {
  test(
    "after random creates, overwrites, truncations, appends, deletes, small folder moves, chmods, symlinks and bursts on E with a live client running, R equals E by hash once E is quiet, and a final --once agrees",
    async () => {
      for (const seed of settings.seeds) await churnWithLiveClient(seed, settings.ops, baseline);
    },
    timeout,
  );

  test(
    "the same churn with folders replaced by files and back, and folders removed and made again, converges",
    async () => {
      for (const seed of settings.seeds) await churnWithLiveClient(seed, settings.ops, { ...baseline, typeChanges: true });
    },
    timeout,
  );

  test(
    "the same churn with moves of big folders converges: moved content is not a mass deletion",
    async () => {
      for (const seed of settings.seeds) await churnWithLiveClient(seed, settings.ops, { ...baseline, maxMoveShare: 1 });
    },
    timeout,
  );

  test(
    "the same churn with same-size rewrites on E that put the mtime back (cp -p) converges",
    async () => {
      for (const seed of settings.seeds) await churnWithLiveClient(seed, settings.ops, { ...baseline, keepMtimeRewrites: true });
    },
    timeout,
  );

  test(
    "the same churn with every kind of operation at once converges",
    async () => {
      for (const seed of settings.seeds) await churnWithLiveClient(seed, settings.ops, { keepMtimeRewrites: true, maxMoveShare: 1, typeChanges: true });
    },
    timeout,
  );
});

import { waitForLogToMatchDisk } from "../helpers/logVsDisk.js";
import { afterAll, describe, test } from "@jest/globals";
import { statSync, utimesSync, writeFileSync } from "node:fs";
import { expectSeeded, FaultRig, notableLines, treeDiff, waitForConvergence } from "../helpers/faultRig.js";
import { CONFLICT_INFIX, fileContent, lostEdits, related } from "../helpers/remoteEditChecks.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { Rng, Workload, faultSettings, type WorkloadOptions } from "../helpers/workload.js";

afterAll(removeTempDirs);

const settings = faultSettings(200);
const SETTLE_MS = 30_000;

/**
 * Churn on E with a live client while R edits files that E then changes too (overwrites, deletes, renames).
 * At the end every R edit is still on R (in place and reported as a conflict, or kept aside as a conflict
 * copy), no path R did not touch is reported as a conflict, and every path R did not touch equals E.
 */
/** How R edits: plainly, or keeping the size and putting the mtime back (`cp -p`, an editor that restores it). */
type EditStyle = "plain" | "keep size and mtime";

/** Writes R's edit of `abs` and returns the content written. */
function editOnR(abs: string, style: EditStyle, label: string): string {
  if (style === "plain") {
    const content = `${label}\n`;
    writeFileSync(abs, content);
    return content;
  }
  const st = statSync(abs);
  const line = `${label}|`;
  const content = line.repeat(Math.ceil(st.size / line.length)).slice(0, st.size);
  writeFileSync(abs, content);
  utimesSync(abs, st.atime, st.mtime);
  return content;
}

async function remoteEdits(seed: number, ops: number, opts: WorkloadOptions, style: EditStyle = "plain"): Promise<void> {
  console.log(`edits on R during churn on E: seed ${seed}, ${ops} operations (replay with ZYNC_FAULT_SEED=${seed})`);
  const rig = await FaultRig.create();
  const w = new Workload(rig.e, new Rng(seed), opts);
  const onR = w.rng.fork(2);
  /** path → the content R last wrote there. */
  const edits = new Map<string, string>();
  const context = (): string =>
    `R edited:\n${[...edits.keys()].join("\n")}\nlast operations on E:\n${w.tail()}\nclient:\n${notableLines(rig.clientOutput())}\ndaemon:\n${notableLines(rig.daemonOutput())}`;
  try {
    w.populate(100);
    await rig.startDaemon();
    rig.startClient();
    expectSeeded(seed, "R equals E after the first sync", await waitForConvergence(rig.e, rig.r, SETTLE_MS), [], context);

    await w.churn(ops, () => {
      if (!onR.chance(0.08)) return;
      // R edits a file it holds that E still has, then E changes the same path.
      // A same-size edit needs enough bytes to differ from every content E wrote.
      const minSize = style === "plain" ? 0 : 40;
      const candidates = w.paths("file").filter((p) => (fileContent(`${rig.r}/${p}`)?.length ?? -1) >= minSize && ![...edits.keys()].some((e) => related(e, p)));
      if (candidates.length === 0) return;
      const p = onR.pick(candidates);
      edits.set(p, editOnR(`${rig.r}/${p}`, style, `edited on R (seed ${seed}, edit ${edits.size + 1})`));
      const roll = onR.next();
      if (roll < 0.6) w.overwrite(p);
      else if (roll < 0.8) w.remove(p);
      else w.renameInPlace(p);
    });
    // E is quiet. Everything R did not touch must arrive; the rest stays R's.
    const leaveOut = (rel: string): boolean => rel.includes(CONFLICT_INFIX) || [...edits.keys()].some((e) => related(e, rel));
    // The daemon's record matches E's disk, R's edited paths included (R cannot show those).
    await waitForLogToMatchDisk(rig.url, rig.tokenFile, rig.name, rig.e, SETTLE_MS).catch((err: unknown) => expectSeeded(seed, "the daemon's log matches E's disk", String(err), "", context));
    const live = await waitForConvergence(rig.e, rig.r, SETTLE_MS, leaveOut);
    expectSeeded(seed, "paths R did not edit that differ from E (live client)", w.explain(live), [], context);
    await rig.stopClient();

    const run = await rig.once();
    expectSeeded(seed, "the final --once run exits 0 (nothing open) or 3 (conflicts open)", [0, 3].includes(run.code as number), true, () => `${run.stderr}\n${context()}`);
    expectSeeded(seed, "paths R did not edit that differ from E after the final --once", w.explain(treeDiff(rig.e, rig.r, leaveOut)), [], context);

    const open = (await rig.clientConflicts()).map((c) => c.slice(`${rig.name}/`.length));
    // An edit in place that is not a conflict is fine only when E ended up holding what R last received there
    // (E did not change it after all): it is then R's change, waiting to go upstream.
    const offered = await rig.upstreamPreview();
    const lost = lostEdits(rig.r, edits, open, offered);
    expectSeeded(seed, "R edits that did not survive as a reported conflict or a kept-aside copy", lost, [], context);
    expectSeeded(seed, "conflicts reported on paths R never edited", open.filter((c) => ![...edits.keys()].some((e) => related(e, c))), [], context);
  } finally {
    await rig.close();
  }
}

const title = "every edit R made survives (in place as a reported conflict or as R's change waiting to go upstream, or kept aside) while E changes the same paths, and every path R did not edit equals E";
const timeout = settings.seeds.length * (settings.ops * 20 + 120_000);
const baseline: WorkloadOptions = { keepMtimeRewrites: false, maxMoveShare: 0.1, typeChanges: false };

describe("edits on R during churn", () => {
  test(
    title,
    async () => {
      for (const seed of settings.seeds) await remoteEdits(seed, settings.ops, baseline);
    },
    timeout,
  );

  test(
    `with R's edits keeping the size and putting the mtime back (cp -p), ${title}`,
    async () => {
      for (const seed of settings.seeds) await remoteEdits(seed, settings.ops, baseline, "keep size and mtime");
    },
    timeout,
  );

  test(
    `with folders replaced by files and back on E too, ${title}`,
    async () => {
      for (const seed of settings.seeds) await remoteEdits(seed, settings.ops, { ...baseline, typeChanges: true });
    },
    timeout,
  );
});

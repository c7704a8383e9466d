import { afterAll, describe, test } from "@jest/globals";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import type { HistoryRow } from "@zync/apply";
import { BIN, spawnBin } from "../helpers/bins.js";
import { expectSeeded } from "../helpers/faultRig.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { looksLike, snapshotTree } from "../helpers/treeSnapshot.js";
import { withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";
import { faultSettings, Rng, upstreamStartTree as startTree } from "../helpers/workload.js";

afterAll(removeTempDirs);

/** `ops` here is the number of E's files (at most 300: some are large); R changes about half of them. */
const settings = faultSettings(80);
const FILES = Math.min(300, settings.ops);
/** Runs of zync-apply undo killed before one is let finish. */
const KILLS = 6;

/** R's edits, each changing a file's size: edits, deletions, exec bits, new files in a new folder, a link, and a folder made a file. */
function editOnR(rng: Rng, r: string, start: Record<string, string>): void {
  for (const [path, content] of Object.entries(start)) {
    if (path.startsWith("d5/")) continue;
    const roll = rng.next();
    if (roll < 0.35) writeFileSync(`${r}/${path}`, `${content}, edited on R ${rng.int(1000)}\n`);
    else if (roll < 0.45) unlinkSync(`${r}/${path}`);
    else if (roll < 0.5) chmodSync(`${r}/${path}`, 0o755);
  }
  mkdirSync(`${r}/new/deeper`, { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(`${r}/new/${i % 2 ? "deeper/" : ""}n${i}.txt`, `new on R ${i}\n`.repeat(rng.between(1, 400)));
  symlinkSync("../d0", `${r}/new/to-d0`);
  rmSync(`${r}/d5`, { recursive: true });
  writeFileSync(`${r}/d5`, "a folder became a file on R\n");
}

describe("zync-apply undo killed at random points", () => {
  test.each(settings.seeds)(
    "seed %i: a second undo finishes it with no false refusal, and E ends as it was before the apply",
    async (seed) => {
      console.log(`zync-apply undo kills: seed ${seed} (replay with ZYNC_FAULT_SEED=${seed})`);
      const rng = new Rng(seed);
      const start = startTree(rng, FILES);
      await withUpstreamPair(start, async ({ e, r, db, pushSession, apply }) => {
        const killer = rng.fork(1);
        editOnR(rng, r, start);
        const id = await pushSession();
        const before = snapshotTree(e);
        const copy = `${tempDir("zync-e-before-")}/e`;
        cpSync(e, copy, { recursive: true, verbatimSymlinks: true });
        const applied = await apply(["apply", String(id), "--non-interactive"]);
        expectSeeded(seed, "the apply finished", { code: applied.code, stderr: applied.stderr }, { code: 0, stderr: "" });
        const afterApply = snapshotTree(e);
        const changed = [...new Set([...Object.keys(before), ...Object.keys(afterApply)])].filter((p) => before[p] !== afterApply[p]);
        const events: string[] = [];
        const context = (): string => events.join("\n");
        const versionsDir = `${db}.versions`;
        const storedCount = (): number => (existsSync(versionsDir) ? readdirSync(versionsDir).filter((n) => n.endsWith(".gz")).length : 0);

        /** Nothing at a final name on E is anything but E's earlier version, the applied one, or (mid-way through a change of type) absent. */
        const checkNothingHalfWritten = (when: string): void => {
          const now = snapshotTree(e);
          const odd = [...new Set([...Object.keys(now), ...Object.keys(before), ...Object.keys(afterApply)])].filter((p) => {
            const [was, wrote, is] = [before[p], afterApply[p], now[p]];
            if (is === was || is === wrote) return false;
            const typeChange = was !== undefined && wrote !== undefined && was.split(" ")[0] !== wrote.split(" ")[0];
            return !(is === undefined && typeChange);
          });
          expectSeeded(seed, `E holds only whole versions ${when}`, odd.map((p) => `${p}: ${now[p] ?? "absent"}`), [], context);
        };

        let finished = false;
        for (let run = 1; run <= KILLS + 1 && !finished; run++) {
          const undo = spawnBin(BIN.apply, ["--db", db, "undo", String(id)]);
          let code: number | string | undefined;
          void undo.exited.then((c) => (code = c));
          if (run <= KILLS) {
            // Killed once E shows `target` more paths put back or the store `target` more versions, polling (never sleeping).
            const byStore = killer.chance(0.3);
            const progress = (): number => (byStore ? storedCount() : changed.filter((p) => looksLike(`${copy}/${p}`, `${e}/${p}`, 0o777)).length);
            const target = progress() + killer.between(0, byStore ? 6 : Math.max(1, Math.round(changed.length / KILLS)));
            await waitFor(() => code !== undefined || progress() >= target, "zync-apply undo to make progress", 60_000, 1);
            if (code === undefined) {
              undo.proc.kill("SIGKILL");
              await undo.exited;
              events.push(`run ${run}: SIGKILL at ${progress()} ${byStore ? "versions stored" : "paths put back"} (target ${target})`);
              checkNothingHalfWritten(`after kill ${run}`);
              expectSeeded(seed, `no path left alone by killed run ${run}`, undo.stdout().split("\n").filter((l) => l.includes("left alone:")), [], context);
              continue;
            }
          }
          code = await undo.exited;
          events.push(`run ${run}: finished with exit ${code}`);
          const stdout = undo.stdout();
          expectSeeded(seed, `run ${run} finished the undo`, { code, stderr: undo.stderr(), odd: stdout.split("\n").filter((l) => l.includes("left alone:")) }, { code: 0, stderr: "", odd: [] }, () => `${context()}\n${stdout}`);
          finished = true;
        }
        expectSeeded(seed, "a run finished", finished, true, context);
        console.log(`seed ${seed}: ${changed.length} paths changed; ${events.join("; ")}`);

        expectSeeded(seed, "E equals its tree from before the apply by hash", snapshotTree(e), before, context);
        expectSeeded(seed, "every path has its mode back", changed.filter((p) => !looksLike(`${copy}/${p}`, `${e}/${p}`, 0o777)), [], context);
        const history = await apply(["history", "--json"]);
        const rows = JSON.parse(history.stdout) as HistoryRow[];
        expectSeeded(seed, "history says the session is undone", rows.map((s) => [s.id, s.undone]), [[id, true]], context);
        const again = await apply(["undo", String(id)]);
        expectSeeded(seed, "a further undo says it was undone", [again.code, again.stdout], [0, `session ${id} was already undone; nothing to do\n`], context);
        expectSeeded(seed, "no temp file is left in E's root", existsSync(`${e}/.zync-tmp`) ? readdirSync(`${e}/.zync-tmp`) : [], [], context);
      });
    },
    300_000,
  );
});

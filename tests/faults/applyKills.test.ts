import { afterAll, describe, test } from "@jest/globals";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { BIN, spawnBin } from "../helpers/bins.js";
import { expectSeeded } from "../helpers/faultRig.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { looksLike, snapshotTree } from "../helpers/treeSnapshot.js";
import { showSession, withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";
import { faultSettings, Rng, upstreamStartTree as startTree } from "../helpers/workload.js";

afterAll(removeTempDirs);

/** `ops` here is the number of E's files (at most 400: some are large); R changes about half of them. */
const settings = faultSettings(90);
const FILES = Math.min(400, settings.ops);
/** Runs of zync-apply killed before one is let finish. */
const KILLS = 6;

const sha = (bytes: Buffer | string): string => createHash("sha256").update(bytes).digest("hex");

/**
 * R's edits, each changing a file's size so that progress on E can be told by lstat alone: edits, deletions,
 * exec bits, new files in a new folder, a link, and a folder made a file. (A file made a folder is left out: its
 * review marks the folder's new files as blocked by E's file before the session is applied.)
 */
function editOnR(rng: Rng, r: string, start: Record<string, string>): void {
  for (const [path, content] of Object.entries(start)) {
    if (path.startsWith("d5/")) continue;
    const roll = rng.next();
    if (roll < 0.35) writeFileSync(`${r}/${path}`, `${content}, edited on R ${rng.int(1000)}\n`);
    else if (roll < 0.45) unlinkSync(`${r}/${path}`);
    else if (roll < 0.5) chmodSync(`${r}/${path}`, 0o755);
  }
  mkdirSync(`${r}/new`);
  for (let i = 0; i < 20; i++) writeFileSync(`${r}/new/n${i}.txt`, `new on R ${i}\n`.repeat(rng.between(1, 400)));
  symlinkSync("../d0", `${r}/new/to-d0`);
  rmSync(`${r}/d5`, { recursive: true });
  writeFileSync(`${r}/d5`, "a folder became a file on R\n");
}

describe("zync-apply killed at random points", () => {
  test.each(settings.seeds)(
    "seed %i: every rerun finishes the session, E ends equal to R's tree with no conflict, every overwritten E file is kept, and undo then puts E back as it was",
    async (seed) => {
      console.log(`zync-apply kills: seed ${seed} (replay with ZYNC_FAULT_SEED=${seed})`);
      const rng = new Rng(seed);
      const start = startTree(rng, FILES);
      await withUpstreamPair(start, async ({ e, r, db, pushSession }) => {
        const killer = rng.fork(1);
        editOnR(rng, r, start);
        const id = await pushSession();
        const before = snapshotTree(e);
        const expected = snapshotTree(r);
        const changed = [...new Set([...Object.keys(before), ...Object.keys(expected)])].filter((p) => before[p] !== expected[p]);
        const originals = new Map<string, string>();
        for (const [p, desc] of Object.entries(before)) if (desc.startsWith("file ") && expected[p]?.split(" ")[1] !== desc.split(" ")[1]) originals.set(p, desc.split(" ")[1]!);
        const events: string[] = [];
        const context = (): string => events.join("\n");
        const keptDir = `${db}.staging/${id}/replaced`;
        const keptCount = (): number => (existsSync(keptDir) ? readdirSync(keptDir).filter((n) => n !== ".zync-tmp").length : 0);

        /** Nothing at a final name on E is anything but E's version, R's version, or (mid-way through a change of type) absent. */
        const checkNothingHalfWritten = (when: string): void => {
          const now = snapshotTree(e);
          const odd = [...new Set([...Object.keys(now), ...Object.keys(before), ...Object.keys(expected)])].filter((p) => {
            const [was, will, is] = [before[p], expected[p], now[p]];
            if (is === was || is === will) return false;
            const typeChange = was !== undefined && will !== undefined && was.split(" ")[0] !== will.split(" ")[0];
            return !(is === undefined && typeChange);
          });
          expectSeeded(seed, `E holds only whole versions ${when}`, odd.map((p) => `${p}: ${now[p] ?? "absent"}`), [], context);
        };

        let finished = false;
        for (let run = 1; run <= KILLS + 1 && !finished; run++) {
          const apply = spawnBin(BIN.apply, ["--db", db, "apply", String(id), "--non-interactive"]);
          let code: number | string | undefined;
          void apply.exited.then((c) => (code = c));
          if (run <= KILLS) {
            // Killed once E shows `target` more paths done or `target` more copies kept, polling (never sleeping).
            const byCopies = killer.chance(0.3);
            const progress = (): number => (byCopies ? keptCount() : changed.filter((p) => looksLike(`${r}/${p}`, `${e}/${p}`, 0o111)).length);
            const target = progress() + killer.between(0, byCopies ? 6 : Math.max(1, Math.round(changed.length / KILLS)));
            await waitFor(() => code !== undefined || progress() >= target, "zync-apply to make progress", 60_000, 1);
            if (code === undefined) {
              apply.proc.kill("SIGKILL");
              await apply.exited;
              events.push(`run ${run}: SIGKILL at ${progress()} ${byCopies ? "copies kept" : "paths done"} (target ${target})`);
              checkNothingHalfWritten(`after kill ${run}`);
              expectSeeded(seed, `no conflict reported by killed run ${run}`, apply.stdout().split("\n").filter((l) => /conflict:|CONFLICT|left pending/.test(l)), [], context);
              continue;
            }
          }
          code = await apply.exited;
          events.push(`run ${run}: finished with exit ${code}`);
          expectSeeded(seed, `run ${run} finished the session`, { code, stderr: apply.stderr(), odd: apply.stdout().split("\n").filter((l) => /conflict:|left pending/.test(l)) }, { code: 0, stderr: "", odd: [] }, () => `${context()}\n${apply.stdout()}`);
          finished = true;
        }
        expectSeeded(seed, "a run finished", finished, true, context);
        console.log(`seed ${seed}: ${changed.length} paths changed; ${events.join("; ")}`);

        expectSeeded(seed, "E equals R's tree by hash", snapshotTree(e), expected, context);
        const shown = await showSession(db, id);
        expectSeeded(seed, "the session is applied", shown.status, "applied", context);
        expectSeeded(seed, "no change is a conflict or left undone", shown.changes.filter((c) => c.conflict || c.outcome !== "applied").map((c) => c.path), [], context);
        // Every E file the session overwrote or deleted is kept, whole, where show says.
        const keptWrong = [...originals].filter(([p, hash]) => {
          const kept = shown.changes.find((c) => c.path === p)?.kept;
          return kept === null || kept === undefined || sha(readFileSync(kept)) !== hash;
        });
        expectSeeded(seed, "every overwritten or deleted E file is kept", keptWrong.map(([p]) => p), [], context);
        expectSeeded(seed, "no temp file is left in E's root", existsSync(`${e}/.zync-tmp`) ? readdirSync(`${e}/.zync-tmp`) : [], [], context);

        // What the killed runs noted for undo is E's state from before the session, not a half-way state of theirs.
        const undo = spawnBin(BIN.apply, ["--db", db, "undo", String(id)]);
        const undone = await undo.exited;
        expectSeeded(seed, "undo after the killed applies puts everything back", { code: undone, stderr: undo.stderr(), alone: undo.stdout().split("\n").filter((l) => l.includes("left alone:")) }, { code: 0, stderr: "", alone: [] }, () => `${context()}\n${undo.stdout()}`);
        expectSeeded(seed, "E equals its tree from before the session by hash", snapshotTree(e), before, context);
      });
    },
    300_000,
  );
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BIN, runBin, runClientOnce, startClient, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { ensureGit, git, writeTree } from "../helpers/gitRepo.js";
import { eventsOf, type JsonEvent } from "../helpers/jsonLines.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

const READER = fileURLToPath(new URL("../helpers/treeReader.js", import.meta.url));

/** Files of branch main, and of branch feature: 300 changed, 60 deleted, 60 added in new folders, 3 larger files changed. */
function branches(): { main: Record<string, string>; feature: Record<string, string> } {
  const main: Record<string, string> = {};
  const feature: Record<string, string> = {};
  for (let i = 0; i < 420; i++) {
    const path = `src/d${i % 12}/f${i}.txt`;
    main[path] = `main ${i}\n`;
    if (i < 300) feature[path] = `feature ${i}\n`;
    else if (i < 360) feature[path] = main[path];
  }
  for (let i = 0; i < 60; i++) feature[`added/n${i % 5}/g${i}.txt`] = `feature only ${i}\n`;
  // Larger than a push carries: fetched with GET_FILE, which makes the fetch take a while.
  for (let i = 0; i < 3; i++) {
    main[`big/b${i}.txt`] = `main ${i}\n`.repeat(60_000);
    feature[`big/b${i}.txt`] = `feature ${i}\n`.repeat(60_000);
  }
  return { main, feature };
}

/** A repository on E with both branches committed and main checked out. */
function twoBranchRepo(e: string, trees: { main: Record<string, string>; feature: Record<string, string> }): void {
  git(e, ["init", "-q", "-b", "main"]);
  git(e, ["config", "user.email", "t@example.com"]);
  git(e, ["config", "user.name", "t"]);
  writeTree(e, trees.main);
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "main"]);
  git(e, ["checkout", "-q", "-b", "feature"]);
  for (const p of Object.keys(trees.main)) if (!(p in trees.feature)) rmSync(`${e}/${p}`);
  writeTree(e, trees.feature);
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "feature"]);
  git(e, ["checkout", "-q", "main"]);
}

/** True when `r` holds exactly the files of `tree` (zync's temp folder aside). */
function holds(r: string, tree: Record<string, string>): boolean {
  return Object.entries(tree).every(([p, c]) => existsSync(`${r}/${p}`) && readFileSync(`${r}/${p}`, "utf8") === c);
}

const ms = (ev: JsonEvent): number => Date.parse(ev.time);

describe("git operations on E land on R as one batch", () => {
  test("a checkout between branches that differ in hundreds of files: a reader on R sees the old tree or the new one, and a mixed one only while the batch's renames run", async () => {
    // The reader (treeReader.ts, its own process) reads R's whole tree again and again and classifies each reading
    // as old, new or mixed, with when it began and ended. The client reports, as --json events, when every file of
    // the batch was in temp files on R (`fetched`), and the moments just before its first rename (`placing`) and
    // just after its last (`placed`). A mixed reading is only allowed if it overlaps that rename window; a client
    // that placed files while it was still fetching others (as it does outside a batch) gives mixed readings while
    // it fetches, and no `batch` events at all.
    const trees = branches();
    const e = tempDir("zync-gitbatch-e-");
    twoBranchRepo(e, trees);
    const r = `${tempDir()}/r`;
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--json", "--interval", "600"]);
    const expected = `${tempDir()}/expected.json`;
    writeFileSync(expected, JSON.stringify({ old: trees.main, new: trees.feature }));
    try {
      await waitFor(() => holds(r, trees.main), "R holding branch main");
      await waitFor(() => eventsOf(client.stdout()).some((ev) => ev.event === "git" && ev.branch === "main"), "E's branch main heard on R");
      const reader = spawn(process.execPath, [READER, r, expected], { stdio: ["pipe", "pipe", "inherit"] });
      let samples = "";
      reader.stdout.on("data", (d: Buffer) => (samples += d.toString()));
      const readings = (): { s: number; e: number; kind: string }[] => samples.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { s: number; e: number; kind: string });
      try {
        await waitFor(() => readings().filter((x) => x.kind === "old").length >= 3, "the reader seeing the old tree");
        const before = eventsOf(client.stdout()).length;
        git(e, ["checkout", "-q", "feature"]);
        await waitFor(() => holds(r, trees.feature) && readings().some((x) => x.kind === "new"), "R holding branch feature, as the reader sees");
        await waitFor(() => eventsOf(client.stdout()).slice(before).some((ev) => ev.event === "batch" && ev.phase === "placed"), "the batch placed");
      } finally {
        reader.stdin.end();
        await new Promise((done) => reader.once("close", done));
      }
      const events = eventsOf(client.stdout());
      const batch = events.filter((ev) => ev.event === "batch" && ev.root === "code");
      // One batch, in this order, with every change of the checkout in it.
      expect(batch.map((ev) => ev.phase)).toEqual(["fetched", "placing", "placed"]);
      expect(batch[0]!.changes as number).toBeGreaterThanOrEqual(300 + 60 + 60 + 3);
      const [placing, placed] = [ms(batch[1]!), ms(batch[2]!)];
      const all = readings();
      const mixed = all.filter((x) => x.kind === "mixed");
      for (const m of mixed) expect({ ...m, overlapsRenames: m.s <= placed && m.e >= placing }).toEqual({ ...m, overlapsRenames: true });
      // The reader was reading while the batch was fetched (so it would have caught placements then), and saw both trees.
      const pass = events.filter((ev) => ev.event === "pass-started" && ms(ev) <= placing).pop();
      expect(pass).toBeDefined();
      expect(all.filter((x) => x.kind === "old" && x.s >= ms(pass!) && x.e <= placing).length).toBeGreaterThan(0);
      expect(all[all.length - 1]!.kind).toBe("new");
      // E's branch as the live client heard it, in its status.
      await waitFor(() => eventsOf(client.stdout()).some((ev) => ev.event === "git" && ev.branch === "feature"), "E's branch feature heard on R");
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });
});

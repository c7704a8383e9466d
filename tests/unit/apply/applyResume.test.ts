import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { applySession, createPaint, type Prompter, type ReviewContext } from "@zync/apply";
import { openDatabase, StagingStore, VersionStore } from "@zync/daemon";
import { hashFile, loadIgnoreRules } from "@zync/node";
import type { EntryState, FileState, UpstreamChange } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { snapshotTree } from "../../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

const stores: StagingStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.db.close();
});

const NO_PROMPTS: Prompter = {
  choose: () => Promise.reject(new Error("a non-interactive apply asked a question")),
};

/** The state of the file at `abs`, as a scan would describe it. */
async function fileState(abs: string): Promise<FileState> {
  const { hash, size } = await hashFile(abs);
  const st = lstatSync(abs);
  return { kind: "file", hash, size, mode: st.mode & 0o777, mtimeMs: Math.floor(st.mtimeMs) };
}

/** E's folder, a staging store, and a session built from what R holds in `r`, staged and pending. */
type Rig = { e: string; r: string; staging: StagingStore; id: number; ctx: (staging?: StagingStore) => ReviewContext; output: string[] };

async function stageSession(e: string, r: string, changes: { path: string; base: EntryState | null; state: EntryState }[]): Promise<Rig> {
  const dir = tempDir();
  const dbPath = `${dir}/sync.db`;
  const staging = new StagingStore(openDatabase(dbPath), `${dbPath}.staging`);
  stores.push(staging);
  const offered: UpstreamChange[] = changes;
  const id = staging.prepare("00000000000000a1", "client-1", "code", offered).session.id;
  for (const c of changes) {
    if (c.state.kind !== "file") continue;
    copyFileSync(`${r}/${c.path}`, staging.blobPath(id, c.state.hash));
    staging.markStaged(id, c.state.hash);
  }
  staging.finalize(id);
  const output: string[] = [];
  const ctx = (s: StagingStore = staging): ReviewContext => ({ staging: s, versions: new VersionStore(`${dbPath}.versions`), rootPath: () => e, rulesFor: () => loadIgnoreRules(e), close: () => undefined });
  return { e, r, staging, id, ctx, output };
}

/** Nothing in the run's output calls any change a conflict. */
function expectNoConflict(rig: Rig): void {
  const out = rig.output.join("\n");
  expect(out).toMatch(/, 0 in conflict with E/);
  expect(out).not.toMatch(/conflict:|CONFLICT/);
}

function runApply(rig: Rig, staging?: StagingStore): Promise<number> {
  return applySession(rig.ctx(staging), String(rig.id), { force: false, nonInteractive: true }, { out: (l) => rig.output.push(l), prompter: NO_PROMPTS, paint: createPaint(false) });
}

/** Writes files (path → content) under `root`, creating their folders. */
function write(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(`${root}/${rel}`), { recursive: true });
    writeFileSync(`${root}/${rel}`, content);
  }
}

/**
 * E and R holding `start`, then R's edits: `edits` (path → new content, null to delete). Returns the rig with
 * a session of those edits, based on what both held.
 */
async function pair(start: Record<string, string>, edits: Record<string, string | null>): Promise<Rig> {
  const e = tempDir("zync-e-");
  const r = tempDir("zync-r-");
  write(e, start);
  write(r, start);
  const changes = [];
  for (const [path, content] of Object.entries(edits)) {
    const base = existsSync(`${e}/${path}`) ? await fileState(`${e}/${path}`) : null;
    if (content === null) rmSync(`${r}/${path}`);
    else write(r, { [path]: content });
    changes.push({ path, base, state: content === null ? ({ kind: "deleted" } as const) : await fileState(`${r}/${path}`) });
  }
  return stageSession(e, r, changes);
}

/** A staging store that fails to record the outcome of one path, as a zync-apply killed right after writing it would. */
class CrashBeforeRecording extends StagingStore {
  private readonly failAt: string;

  constructor(base: StagingStore, failAt: string) {
    super(base.db, base.blobRoot);
    this.failAt = failAt;
  }

  override decide(...args: Parameters<StagingStore["decide"]>): void {
    if (args[1] === this.failAt) throw new Error(`killed after writing ${this.failAt}`);
    super.decide(...args);
  }
}

describe("an apply interrupted between writing a change and recording it", () => {
  test("the next run records the written change as applied, not as a conflict, and finishes the rest", async () => {
    const rig = await pair({ "a.txt": "a on E\n", "b.txt": "b on E\n", "c.txt": "c on E\n" }, { "a.txt": "a from R\n", "b.txt": "b from R, longer\n", "c.txt": null });
    await expect(runApply(rig, new CrashBeforeRecording(rig.staging, "b.txt"))).rejects.toThrow("killed after writing b.txt");
    // b.txt's write landed; its outcome did not.
    expect(readFileSync(`${rig.e}/b.txt`, "utf8")).toBe("b from R, longer\n");
    expect(rig.staging.change(rig.id, "b.txt")).toEqual(expect.objectContaining({ outcome: "pending", placing: expect.objectContaining({ kind: "file" }) }));

    rig.output.length = 0;
    expect(await runApply(rig)).toBe(0);
    expectNoConflict(rig);
    expect(snapshotTree(rig.e)).toEqual(snapshotTree(rig.r));
    const changes = rig.staging.changes(rig.id);
    expect(changes.map((c) => [c.path, c.outcome, c.placing])).toEqual([
      ["a.txt", "applied", null],
      ["b.txt", "applied", null],
      ["c.txt", "applied", null],
    ]);
    // E's previous version of each file, b.txt's included although its outcome was recorded by the second run.
    for (const [path, before] of [["a.txt", "a on E\n"], ["b.txt", "b on E\n"], ["c.txt", "c on E\n"]] as const) {
      const replaced = changes.find((c) => c.path === path)!.replaced;
      expect(replaced === null ? null : readFileSync(rig.staging.replacedPath(rig.id, replaced), "utf8")).toBe(before);
    }
  });

  test("a folder of E's that a killed run had removed to put R's file there is finished, not reported as deleted on E", async () => {
    const e = tempDir("zync-e-");
    const r = tempDir("zync-r-");
    mkdirSync(`${e}/build`);
    write(r, { build: "build is a file on R now\n" });
    const rig = await stageSession(e, r, [{ path: "build", base: { kind: "dir", mode: 0o755 }, state: await fileState(`${r}/build`) }]);
    // Exactly what a run killed between removing E's empty folder and renaming R's file into place leaves behind.
    rig.staging.takeReview(rig.id, process.pid, () => true);
    rig.staging.notePlacing(rig.id, "build", { kind: "dir", mode: 0o755 }, null, process.pid);
    rmdirSync(`${e}/build`);
    rig.staging.releaseReview(rig.id, process.pid);

    expect(await runApply(rig)).toBe(0);
    expectNoConflict(rig);
    expect(snapshotTree(e)).toEqual(snapshotTree(r));
    expect(rig.staging.change(rig.id, "build")?.outcome).toBe("applied");
  });

  test("without a noted placement, a path E deleted since R's base is still a conflict", async () => {
    const e = tempDir("zync-e-");
    const r = tempDir("zync-r-");
    write(r, { "gone.txt": "R's edit\n" });
    const rig = await stageSession(e, r, [{ path: "gone.txt", base: { kind: "file", hash: "0000000000000000", size: 3, mode: 0o644, mtimeMs: 0 }, state: await fileState(`${r}/gone.txt`) }]);
    await expect(runApply(rig)).rejects.toThrow(/has 1 conflict/);
    expect(existsSync(`${e}/gone.txt`)).toBe(false);
  });

  test("an apply that overwrites or deletes E's files without a conflict keeps each previous version once, by content", async () => {
    const rig = await pair({ "x/one.txt": "same\n", "x/two.txt": "same\n", "y.txt": "y\n" }, { "x/one.txt": "one from R\n", "x/two.txt": null, "y.txt": "y from R\n" });
    expect(await runApply(rig)).toBe(0);
    const changes = rig.staging.changes(rig.id);
    expect(changes.map((c) => c.replaced !== null)).toEqual([true, true, true]);
    // Both x/ files held the same content: one copy serves both.
    expect(changes[0]!.replaced).toBe(changes[1]!.replaced);
    expect(readFileSync(rig.staging.replacedPath(rig.id, changes[0]!.replaced!), "utf8")).toBe("same\n");
    expect(readFileSync(rig.staging.replacedPath(rig.id, changes[2]!.replaced!), "utf8")).toBe("y\n");
    expect(rig.output.join("\n")).toMatch(/previous versions of 3 overwritten or deleted file/);
  });
});

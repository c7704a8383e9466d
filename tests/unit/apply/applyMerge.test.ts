import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { applySession, createPaint, PromptCancelled, type Choice, type Editor, type EditorExit, type Prompter, type ReviewContext } from "@zync/apply";
import { openDatabase, StagingStore, VersionStore } from "@zync/daemon";
import { ExitError, hashFile, loadIgnoreRules } from "@zync/node";
import type { FileState } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const stores: StagingStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.db.close();
});

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

async function fileState(abs: string): Promise<FileState> {
  const { hash, size } = await hashFile(abs);
  const st = lstatSync(abs);
  return { kind: "file", hash, size, mode: st.mode & 0o777, mtimeMs: Math.floor(st.mtimeMs) };
}

type Rig = { e: string; id: number; staging: StagingStore; versions: VersionStore; ctx: ReviewContext; output: string[]; baseHash: string };

/**
 * E and R both started from `base` in notes.txt; R's edit is staged as a session, E's edit is on E's disk. The
 * base is in E's version store when `stored` (as if E had served it to R).
 */
async function conflict(base: string, eText: string, rText: string, stored = true): Promise<Rig> {
  const e = tempDir("zync-e-");
  const r = tempDir("zync-r-");
  const dbPath = `${tempDir()}/sync.db`;
  writeFileSync(`${e}/notes.txt`, base);
  const baseState = await fileState(`${e}/notes.txt`);
  const versions = new VersionStore(`${dbPath}.versions`);
  if (stored) await versions.put(baseState.hash, Buffer.from(base));
  writeFileSync(`${r}/notes.txt`, rText);
  const state = await fileState(`${r}/notes.txt`);
  const staging = new StagingStore(openDatabase(dbPath), `${dbPath}.staging`);
  stores.push(staging);
  const id = staging.prepare("00000000000000a1", "client-1", "code", [{ path: "notes.txt", base: baseState, state }]).session.id;
  copyFileSync(`${r}/notes.txt`, staging.blobPath(id, state.hash));
  staging.markStaged(id, state.hash);
  staging.finalize(id);
  writeFileSync(`${e}/notes.txt`, eText);
  const ctx: ReviewContext = { staging, versions, rootPath: () => e, rulesFor: () => loadIgnoreRules(e), close: () => undefined };
  return { e, id, staging, versions, ctx, output: [], baseHash: baseState.hash };
}

const NO_PROMPTS: Prompter = { choose: () => Promise.reject(new Error("a non-interactive apply asked a question")) };

function runMerge(rig: Rig): Promise<number> {
  return applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: true, merge: true }, { out: (l) => rig.output.push(l), prompter: NO_PROMPTS, paint: createPaint(false) });
}

/** A prompter that answers `answers` in turn and records the keys it was offered each time. */
function scripted(answers: string[]): Prompter & { offered: string[][] } {
  const offered: string[][] = [];
  return {
    offered,
    choose<V extends string>(_message: string, choices: readonly Choice<V>[]): Promise<V> {
      offered.push(choices.map((c) => c.key));
      const key = answers.shift();
      const choice = choices.find((c) => c.key === key);
      return choice ? Promise.resolve(choice.value) : Promise.reject(new Error(`no choice ${String(key)} among ${choices.map((c) => c.key).join(",")}`));
    },
  };
}

describe("zync-apply apply --merge", () => {
  test("a conflict whose edits are far apart is merged into E's file, and E's previous version is kept", async () => {
    const eText = FIVE.replace("line1", "line1 E");
    const rig = await conflict(FIVE, eText, FIVE.replace("line5", "line5 R"));
    expect(await runMerge(rig)).toBe(0);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
    const change = rig.staging.change(rig.id, "notes.txt")!;
    expect(change.outcome).toBe("applied");
    expect(readFileSync(rig.staging.replacedPath(rig.id, change.replaced!), "utf8")).toBe(eText);
    expect((await rig.versions.get(change.replaced!))?.toString()).toBe(eText);
    expect(rig.output.join("\n")).toMatch(/merged notes\.txt/);
  });

  test("edits that overlap are left pending with exit 3, E's file untouched and no conflict markers written", async () => {
    const eText = FIVE.replace("line3", "line3 E");
    const rig = await conflict(FIVE, eText, FIVE.replace("line3", "line3 R"));
    expect(await runMerge(rig)).toBe(3);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(eText);
    expect(rig.staging.change(rig.id, "notes.txt")!.outcome).toBe("pending");
    expect(rig.output.join("\n")).toMatch(/left pending: notes\.txt: no clean merge: E's and R's changes overlap in 1 place/);
  });

  test("without the base in E's version store nothing is merged, and the reason is named", async () => {
    const eText = FIVE.replace("line1", "line1 E");
    const rig = await conflict(FIVE, eText, FIVE.replace("line5", "line5 R"), false);
    expect(await runMerge(rig)).toBe(3);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(eText);
    expect(rig.output.join("\n")).toMatch(/merge not offered: the version both sides started from is not in E's version store/);
  });

  test("a binary file is not merged, and the reason is named", async () => {
    const rig = await conflict("a\0\nb\nc\nd\n", "a E\0\nb\nc\nd\n", "a\0\nb\nc\nd R\n");
    expect(await runMerge(rig)).toBe(3);
    expect(readFileSync(`${rig.e}/notes.txt`, "latin1")).toBe("a E\0\nb\nc\nd\n");
    expect(rig.output.join("\n")).toMatch(/merge not offered: the file is binary/);
  });

  test("without --merge the same conflict is still refused as a whole", async () => {
    const eText = FIVE.replace("line1", "line1 E");
    const rig = await conflict(FIVE, eText, FIVE.replace("line5", "line5 R"));
    const run = applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: true }, { out: (l) => rig.output.push(l), prompter: NO_PROMPTS, paint: createPaint(false) });
    await expect(run).rejects.toBeInstanceOf(ExitError);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(eText);
  });
});

describe("the interactive review of a conflict with its base stored", () => {
  test("offers merge first, shows each side's changes against the base, and merges on one key", async () => {
    const rig = await conflict(FIVE, FIVE.replace("line1", "line1 E"), FIVE.replace("line5", "line5 R"));
    const prompter = scripted(["m"]);
    expect(await applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: false }, { out: (l) => rig.output.push(l), prompter, paint: createPaint(false) })).toBe(0);
    expect(prompter.offered[0]?.[0]).toBe("m");
    const out = rig.output.join("\n");
    expect(out).toMatch(/what R changed:\n--- base\/notes\.txt\n\+\+\+ R\/notes\.txt[\s\S]*-line5\n\+line5 R/);
    expect(out).toMatch(/what E changed:\n--- base\/notes\.txt\n\+\+\+ E\/notes\.txt[\s\S]*-line1\n\+line1 E/);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
  });

  test("does not offer a clean merge when the edits overlap, and says so", async () => {
    const rig = await conflict(FIVE, FIVE.replace("line3", "line3 E"), FIVE.replace("line3", "line3 R"));
    const prompter = scripted(["e"]);
    expect(await applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: false }, { out: (l) => rig.output.push(l), prompter, paint: createPaint(false) })).toBe(0);
    expect(prompter.offered[0]).not.toContain("m");
    expect(prompter.offered[0]?.[0]).toBe("p");
    expect(rig.output.join("\n")).toMatch(/no clean merge: E's and R's changes overlap in 1 place/);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 E"));
  });

  test("overlapping edits are merged part by part, each part taking the side the person chose", async () => {
    const base = "a\nb\nc\nd\ne\nf\ng\n";
    const rig = await conflict(base, "a E\nb\nc\nd\ne\nf E\ng\n", "a R\nb\nc\nd R\ne\nf R\ng\n");
    const prompter = scripted(["p", "r", "e"]);
    expect(await applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: false }, { out: (l) => rig.output.push(l), prompter, paint: createPaint(false) })).toBe(0);
    expect(prompter.offered.slice(1)).toEqual([["e", "r"], ["e", "r"]]);
    const out = rig.output.join("\n");
    expect(out).toMatch(/part 1\/2 of notes\.txt:\n {2}E\| a E\n {2}R\| a R/);
    expect(out).toMatch(/part 2\/2 of notes\.txt:\n {2}E\| f E\n {2}R\| f R/);
    // R's first line, R's edit of d (no overlap), E's f: no markers anywhere.
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe("a R\nb\nc\nd R\ne\nf E\ng\n");
    expect(rig.staging.change(rig.id, "notes.txt")!.outcome).toBe("applied");
  });
});

/**
 * An editor that, on each run, records the file's path and content, then does what `runs` says in turn: write
 * bytes (or leave the file as it is) and exit as given; `during` runs before it exits, as if a person worked on E.
 */
function scriptedEditor(runs: { write?: string; exit?: EditorExit; during?: () => void }[]): Editor & { seen: { path: string; text: string }[] } {
  const seen: { path: string; text: string }[] = [];
  return {
    command: "test-editor",
    seen,
    edit(file) {
      seen.push({ path: file, text: readFileSync(file, "latin1") });
      const run = runs.shift();
      if (run === undefined) return Promise.reject(new Error("the editor was opened more often than planned"));
      if (run.write !== undefined) writeFileSync(file, run.write, "latin1");
      run.during?.();
      return Promise.resolve(run.exit ?? { code: 0, signal: null });
    },
  };
}

function review(rig: Rig, prompter: Prompter, editor: Editor): Promise<number> {
  return applySession(rig.ctx, String(rig.id), { force: false, nonInteractive: false }, { out: (l) => rig.output.push(l), prompter, paint: createPaint(false), editor });
}

describe("editing a conflict's merge in the person's editor", () => {
  const OVERLAP = ["line1\nline2\nline3 E\nline4\nline5\n", "line1\nline2\nline3 R\nline4\nline5\n"] as const;
  const MARKED = "line1\nline2\n<<<<<<< E\nline3 E\n||||||| base\nline3\n=======\nline3 R\n>>>>>>> R\nline4\nline5\n";

  test("offered after part by part for an overlap, and after merge for a clean one; never without an editor", async () => {
    const overlapRig = await conflict(FIVE, ...OVERLAP);
    const asked = scripted(["e"]);
    await review(overlapRig, asked, scriptedEditor([]));
    expect(asked.offered[0]?.slice(0, 3)).toEqual(["p", "o", "r"]);

    const cleanRig = await conflict(FIVE, FIVE.replace("line1", "line1 E"), FIVE.replace("line5", "line5 R"));
    const editor = scriptedEditor([{ write: "line1 E\nline2\nline3 by hand\nline4\nline5 R\n" }]);
    const clean = scripted(["o"]);
    expect(await review(cleanRig, clean, editor)).toBe(0);
    expect(clean.offered[0]?.slice(0, 3)).toEqual(["m", "o", "r"]);
    // A clean merge opens as the merge itself, no markers.
    expect(editor.seen[0]?.text).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
    expect(readFileSync(`${cleanRig.e}/notes.txt`, "utf8")).toBe("line1 E\nline2\nline3 by hand\nline4\nline5 R\n");
    expect(cleanRig.staging.change(cleanRig.id, "notes.txt")!.outcome).toBe("applied");
  });

  test("'apply it anyway' writes the markers the person chose to keep, and E's previous version is kept", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const editor = scriptedEditor([{}]);
    expect(await review(rig, scripted(["o", "a"]), editor)).toBe(0);
    expect(editor.seen[0]?.text).toBe(MARKED);
    expect(readFileSync(`${rig.e}/notes.txt`, "latin1")).toBe(MARKED);
    const change = rig.staging.change(rig.id, "notes.txt")!;
    expect(change.outcome).toBe("applied");
    expect(readFileSync(rig.staging.replacedPath(rig.id, change.replaced!), "utf8")).toBe(OVERLAP[0]);
  });

  test("'back' at leftover markers writes nothing and asks the file's question again", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const prompter = scripted(["o", "b", "e"]);
    expect(await review(rig, prompter, scriptedEditor([{ write: "line1\n<<<<<<< E\n" }]))).toBe(0);
    expect(prompter.offered[1]).toEqual(["e", "a", "b"]);
    expect(prompter.offered[2]?.slice(0, 2)).toEqual(["p", "o"]);
    expect(rig.output.join("\n")).toMatch(/still holds 1 conflict marker line\(s\), at line 2\n/);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(OVERLAP[0]);
    expect(rig.staging.change(rig.id, "notes.txt")!.outcome).toBe("skipped");
  });

  test("an editor ended by a signal writes nothing and names the signal", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const editor = scriptedEditor([{ write: "half saved\n", exit: { code: null, signal: "SIGTERM" } }]);
    expect(await review(rig, scripted(["o", "e"]), editor)).toBe(0);
    expect(rig.output.join("\n")).toMatch(/the editor \(test-editor\) was ended by SIGTERM: nothing was written/);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(OVERLAP[0]);
  });

  test("E's file changed while the person edited: the result is not written over it, and the change stays pending", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const meanwhile = "edited on E during the review\n";
    const editor = scriptedEditor([{ write: "line1\nline2\nline3 E and R\nline4\nline5\n", during: () => writeFileSync(`${rig.e}/notes.txt`, meanwhile) }]);
    expect(await review(rig, scripted(["o"]), editor)).toBe(0);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(meanwhile);
    expect(rig.staging.change(rig.id, "notes.txt")!.outcome).toBe("pending");
    expect(rig.output.join("\n")).toMatch(/left pending: notes\.txt changed on E after it was reviewed/);
  });

  test("Ctrl-C at the question about leftover markers removes the file being edited and keeps the change pending", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const editor = scriptedEditor([{}]);
    const cancelling: Prompter = {
      choose<V extends string>(message: string, choices: readonly Choice<V>[]): Promise<V> {
        if (message.includes("still has conflict markers")) return Promise.reject(new PromptCancelled("cancelled"));
        return Promise.resolve(choices.find((c) => c.key === "o")!.value);
      },
    };
    expect(await review(rig, cancelling, editor)).toBe(130);
    const held = editor.seen[0]!.path;
    expect(held.startsWith(`${rig.staging.sessionDir(rig.id)}/edit-`)).toBe(true);
    expect(existsSync(held)).toBe(false);
    expect(existsSync(dirname(held))).toBe(false);
    expect(readFileSync(`${rig.e}/notes.txt`, "utf8")).toBe(OVERLAP[0]);
    expect(rig.staging.change(rig.id, "notes.txt")!.outcome).toBe("pending");
  });

  test("a folder a killed review left behind is removed by the next review", async () => {
    const rig = await conflict(FIVE, ...OVERLAP);
    const left = `${rig.staging.sessionDir(rig.id)}/edit-abc123`;
    mkdirSync(left, { recursive: true });
    writeFileSync(`${left}/notes.txt`, MARKED);
    expect(await review(rig, scripted(["q"]), scriptedEditor([]))).toBe(0);
    expect(existsSync(left)).toBe(false);
  });
});

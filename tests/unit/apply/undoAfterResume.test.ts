import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { copyFileSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import { applySession, createPaint, undoSession, type Prompter, type ReviewContext } from "@zync/apply";
import { openDatabase, StagingStore, VersionStore } from "@zync/daemon";
import { hashFile, loadIgnoreRules } from "@zync/node";
import type { FileState } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const stores: StagingStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.db.close();
});

const FIVE = "line1\nline2\nline3\nline4\nline5\n";
const NO_PROMPTS: Prompter = { choose: () => Promise.reject(new Error("a non-interactive apply asked a question")) };

async function fileState(abs: string): Promise<FileState> {
  const { hash, size } = await hashFile(abs);
  const st = lstatSync(abs);
  return { kind: "file", hash, size, mode: st.mode & 0o777, mtimeMs: Math.floor(st.mtimeMs) };
}

/** A staging store that fails to record the outcome of every change, as a zync-apply killed right after writing would. */
class CrashBeforeRecording extends StagingStore {
  override decide(...args: Parameters<StagingStore["decide"]>): void {
    throw new Error(`killed after writing ${args[1]}`);
  }
}

describe("undo after an apply that was killed and run again", () => {
  test("a merge written by a killed run and written again by the next: undo puts back E's own edit, not the merge", async () => {
    const e = tempDir("zync-e-");
    const r = tempDir("zync-r-");
    const dbPath = `${tempDir()}/sync.db`;
    writeFileSync(`${e}/notes.txt`, FIVE);
    const base = await fileState(`${e}/notes.txt`);
    const versions = new VersionStore(`${dbPath}.versions`);
    await versions.put(base.hash, Buffer.from(FIVE));
    writeFileSync(`${r}/notes.txt`, FIVE.replace("line5", "line5 R"));
    const state = await fileState(`${r}/notes.txt`);
    const staging = new StagingStore(openDatabase(dbPath), `${dbPath}.staging`);
    stores.push(staging);
    const id = staging.prepare("00000000000000a1", "client-1", "code", [{ path: "notes.txt", base, state }]).session.id;
    copyFileSync(`${r}/notes.txt`, staging.blobPath(id, state.hash));
    staging.markStaged(id, state.hash);
    staging.finalize(id);
    const eText = FIVE.replace("line1", "line1 E");
    writeFileSync(`${e}/notes.txt`, eText);
    const output: string[] = [];
    const ctx = (s: StagingStore): ReviewContext => ({ staging: s, versions, rootPath: () => e, rulesFor: () => loadIgnoreRules(e), close: () => undefined });
    const merge = (s: StagingStore): Promise<number> =>
      applySession(ctx(s), String(id), { force: false, nonInteractive: true, merge: true }, { out: (l) => output.push(l), prompter: NO_PROMPTS, paint: createPaint(false) });

    await expect(merge(new CrashBeforeRecording(staging.db, staging.blobRoot))).rejects.toThrow("killed after writing notes.txt");
    const merged = "line1 E\nline2\nline3\nline4\nline5 R\n";
    expect(readFileSync(`${e}/notes.txt`, "utf8")).toBe(merged);
    expect(await merge(staging)).toBe(0);
    expect(readFileSync(`${e}/notes.txt`, "utf8")).toBe(merged);

    expect(await undoSession(ctx(staging), String(id), (l) => output.push(l))).toBe(0);
    expect(readFileSync(`${e}/notes.txt`, "utf8")).toBe(eText);
  });
});

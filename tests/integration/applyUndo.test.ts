import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { AppliedPaths, openDatabase, VersionStore } from "@zync/daemon";
import { hashBytes } from "@zync/node";
import type { HistoryRow } from "@zync/apply";
import { removeTempDirs } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

/** Every entry's full permission bits (the snapshot compares only the exec bit). */
function modes(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === "" ? root : `${root}/${rel}`).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (r === ".zync-tmp") continue;
      const st = lstatSync(`${root}/${r}`);
      if (!st.isSymbolicLink()) out[r] = st.mode & 0o777;
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}

/** `zync-apply history --json`, asserted to succeed quietly. */
async function history(apply: (args: readonly string[]) => Promise<{ code: number | string; stdout: string; stderr: string }>): Promise<HistoryRow[]> {
  const run = await apply(["history", "--json"]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as HistoryRow[];
}

describe("zync-apply undo", () => {
  test("undo after apply restores E byte-exactly (content and mode) for modified, created, deleted and merged paths, and keeps what it replaced", async () => {
    const start = { "five.txt": FIVE, "mod.txt": "E's mod\n", "del.txt": "E's del\n", "run.sh": "echo hi\n", "old/inner.txt": "in a folder R removes\n", "d/was-file": "a file R makes a folder\n" };
    await withUpstreamPair(start, async ({ e, r, db, pushSession, apply }) => {
      const baseHash = await hashBytes(Buffer.from(FIVE));
      await waitFor(() => existsSync(`${db}.versions/${baseHash}.gz`) || undefined, "the served version of five.txt in E's version store");
      chmodSync(`${e}/old`, 0o750);
      chmodSync(`${e}/mod.txt`, 0o640);
      writeFileSync(`${r}/five.txt`, FIVE.replace("line5", "line5 R"));
      writeFileSync(`${r}/mod.txt`, "R's mod, longer\n");
      unlinkSync(`${r}/del.txt`);
      chmodSync(`${r}/run.sh`, 0o755);
      rmSync(`${r}/old`, { recursive: true });
      mkdirSync(`${r}/new/deeper`, { recursive: true });
      writeFileSync(`${r}/new/deeper/made.txt`, "made on R\n");
      symlinkSync("../mod.txt", `${r}/new/link`);
      unlinkSync(`${r}/d/was-file`);
      mkdirSync(`${r}/d/was-file`);
      writeFileSync(`${r}/d/was-file/inside.txt`, "inside\n");
      writeFileSync(`${e}/five.txt`, FIVE.replace("line1", "line1 E"));
      const id = await pushSession();

      const before = snapshotTree(e);
      const beforeModes = modes(e);
      const applied = await apply(["apply", String(id), "--merge"]);
      expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: "" });
      expect(applied.stdout).toMatch(/merged five\.txt/);
      const merged = readFileSync(`${e}/five.txt`);
      expect(merged.toString()).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
      const afterApply = snapshotTree(e);

      const shown = await history(apply);
      expect(shown.map((s) => [s.id, s.undone])).toEqual([[id, false]]);
      expect(Object.fromEntries(shown[0]!.paths.map((p) => [p.path, p.change]))).toEqual({
        "five.txt": "merged",
        "mod.txt": "modified",
        "del.txt": "deleted",
        "run.sh": "modified",
        old: "deleted",
        "old/inner.txt": "deleted",
        new: "created",
        "new/deeper": "created",
        "new/deeper/made.txt": "created",
        "new/link": "created",
        "d/was-file": "modified",
        "d/was-file/inside.txt": "created",
      });
      const text = await apply(["history"]);
      expect(text.stdout).toMatch(new RegExp(`session ${id} \\(applied\\) for root code`));
      expect(text.stdout).toMatch(/^ {2}merged +five\.txt$/m);
      expect(text.stdout).toMatch(/^ {2}created +new\/deeper\/made\.txt$/m);

      const undo = await apply(["undo", String(id)]);
      expect({ code: undo.code, stderr: undo.stderr }).toEqual({ code: 0, stderr: "" });
      expect(undo.stdout).toMatch(/restored mod\.txt\n/);
      expect(undo.stdout).toMatch(/restored five\.txt \(session \d+ merged R's edit into it\)/);
      expect(undo.stdout).toMatch(/removed new\/deeper\/made\.txt \(session \d+ created it\)/);
      expect(undo.stdout).toMatch(/restored del\.txt \(session \d+ deleted it\)/);
      expect(undo.stdout).toMatch(/12 path\(s\) put back as E had them before session \d+, 0 left alone/);
      expect(snapshotTree(e)).toEqual(before);
      expect(modes(e)).toEqual(beforeModes);
      expect(existsSync(`${e}/.zync-tmp`)).toBe(false);

      // Nothing undo overwrote or removed is lost: each file the apply wrote is in the version store.
      for (const [path, desc] of Object.entries(afterApply)) {
        if (!desc.startsWith("file ") || before[path] === desc) continue;
        const hash = await hashBytes(path === "five.txt" ? merged : readFileSync(`${r}/${path}`));
        expect([path, existsSync(`${db}.versions/${hash}.gz`)]).toEqual([path, true]);
      }

      const undoneHistory = await history(apply);
      expect(undoneHistory.map((s) => [s.id, s.undone, s.paths.every((p) => p.undone)])).toEqual([[id, true, true]]);
      expect((await apply(["history"])).stdout).toMatch(new RegExp(`session ${id} \\(undone\\)`));

      const again = await apply(["undo", String(id)]);
      expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({ code: 0, stdout: `session ${id} was already undone; nothing to do\n`, stderr: "" });
      expect(snapshotTree(e)).toEqual(before);
    });
  });

  test("a path E changed since the apply is left alone and named, the others are undone, and the exit code is 3", async () => {
    await withUpstreamPair({ "a.txt": "E's a\n", "b.txt": "E's b\n", "c.txt": "E's c\n" }, async ({ e, r, pushSession, apply }) => {
      writeFileSync(`${r}/a.txt`, "R's a\n");
      writeFileSync(`${r}/b.txt`, "R's b\n");
      writeFileSync(`${r}/new.txt`, "R's new\n");
      const id = await pushSession();
      expect((await apply(["apply", String(id), "--non-interactive"])).code).toBe(0);
      // E's later work: an edit of the same size (a size and mtime check alone could miss it) and a new file's edit.
      writeFileSync(`${e}/a.txt`, "E's A\n");
      writeFileSync(`${e}/new.txt`, "E edited the new file\n");

      const undo = await apply(["undo", String(id)]);
      expect({ code: undo.code, stderr: undo.stderr }).toEqual({ code: 3, stderr: "" });
      const leftAlone = undo.stdout.split("\n").filter((l) => l.includes("left alone:"));
      expect(leftAlone).toEqual([
        "  left alone: new.txt: changed on E since the apply (E holds a file of 22 byte(s), the apply wrote a file of 8 byte(s))",
        "  left alone: a.txt: changed on E since the apply (E holds a file of 6 byte(s), the apply wrote a file of 6 byte(s))",
      ]);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe("E's A\n");
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe("E's b\n");
      expect(readFileSync(`${e}/new.txt`, "utf8")).toBe("E edited the new file\n");
      expect(readFileSync(`${e}/c.txt`, "utf8")).toBe("E's c\n");

      const shown = await history(apply);
      expect(shown.map((s) => [s.id, s.undone, Object.fromEntries(s.paths.map((p) => [p.path, p.undone]))])).toEqual([[id, false, { "a.txt": false, "b.txt": true, "new.txt": false }]]);
      expect((await apply(["history"])).stdout).toMatch(new RegExp(`session ${id} \\(1 of 3 undone\\)`));

      // Once E holds what the apply wrote again, the path can be undone after all.
      writeFileSync(`${e}/a.txt`, "R's a\n");
      const retry = await apply(["undo", String(id)]);
      expect(retry.code).toBe(3);
      expect(retry.stdout).toMatch(/restored a\.txt/);
      expect(retry.stdout.split("\n").filter((l) => l.includes("left alone:"))).toEqual([expect.stringMatching(/^ {2}left alone: new\.txt: /)]);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe("E's a\n");
    });
  });

  test("an undo killed in the gap of a change of kind (E's file removed, the folder not made yet) is finished by the next, with no refusal", async () => {
    await withUpstreamPair({ "d/x.txt": "in a folder\n", "keep.txt": "kept\n" }, async ({ e, r, db, pushSession, apply }) => {
      rmSync(`${r}/d`, { recursive: true });
      writeFileSync(`${r}/d`, "a folder became a file on R\n");
      const id = await pushSession();
      const before = snapshotTree(e);
      expect((await apply(["apply", String(id), "--non-interactive"])).code).toBe(0);
      expect(snapshotTree(e)["d"]).toMatch(/^file /);
      // The durable state an undo killed between removing E's file and making the folder leaves: the path noted
      // as being undone, the file it replaced stored, nothing at the path.
      const database = openDatabase(db);
      try {
        AppliedPaths.of(database).markUndoing(id, "d");
      } finally {
        database.close();
      }
      const wrote = readFileSync(`${e}/d`);
      await new VersionStore(`${db}.versions`).put(await hashBytes(wrote), wrote);
      unlinkSync(`${e}/d`);

      const undo = await apply(["undo", String(id)]);
      expect({ code: undo.code, stderr: undo.stderr, alone: undo.stdout.split("\n").filter((l) => l.includes("left alone:")) }).toEqual({ code: 0, stderr: "", alone: [] });
      expect(snapshotTree(e)).toEqual(before);
    });
  });

  test("the daemon records undo's writes like any edit on E, so R's next pull brings E's earlier versions to R", async () => {
    await withUpstreamPair({ "a.txt": "E's a\n", "gone.txt": "E's gone\n" }, async ({ e, r, pushSession, apply, once, daemonCaughtUp }) => {
      writeFileSync(`${r}/a.txt`, "R's a\n");
      unlinkSync(`${r}/gone.txt`);
      writeFileSync(`${r}/new.txt`, "R's new\n");
      const id = await pushSession();
      const before = snapshotTree(e);
      expect((await apply(["apply", String(id), "--non-interactive"])).code).toBe(0);
      await daemonCaughtUp();
      const pulled = await once();
      expect({ code: pulled.code, stderr: pulled.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      expect((await apply(["undo", String(id)])).code).toBe(0);
      await daemonCaughtUp();
      const back = await once();
      expect({ code: back.code, stderr: back.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(before);
      expect(snapshotTree(e)).toEqual(before);
    });
  });

  test("a path whose earlier version was pruned from the store is named and left alone; the rest is undone", async () => {
    await withUpstreamPair({ "a.txt": "E's a\n", "b.txt": "E's b\n" }, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/a.txt`, "R's a\n");
      writeFileSync(`${r}/b.txt`, "R's b\n");
      const id = await pushSession();
      expect((await apply(["apply", String(id), "--non-interactive"])).code).toBe(0);
      const aHash = await hashBytes(Buffer.from("E's a\n"));
      // Retention removed it from the store, and the session's own copy is gone too.
      rmSync(`${db}.versions/${aHash}.gz`);
      rmSync(`${db}.staging/${id}/replaced/${aHash}`);

      const undo = await apply(["undo", String(id)]);
      expect({ code: undo.code, stderr: undo.stderr }).toEqual({ code: 3, stderr: "" });
      expect(undo.stdout).toMatch(/^ {2}left alone: a\.txt: E's earlier version is no longer in the version store \(pruned by retention\)$/m);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe("R's a\n");
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe("E's b\n");

      // With the root's folder gone, nothing is judged (every path would look deleted) and nothing is marked.
      renameSync(e, `${e}.moved`);
      const gone = await apply(["undo", String(id)]);
      renameSync(`${e}.moved`, e);
      expect([gone.code, gone.stdout, gone.stderr]).toEqual([1, "", `zync-apply: the folder of root code (${e}) is not there; nothing was undone\n`]);
    });
  });

  test("bad input gets one sentence and a non-zero exit: unknown or malformed session, a session pending or rejected", async () => {
    await withUpstreamPair({ "a.txt": "E's a\n" }, async ({ r, pushSession, apply }) => {
      expect((await apply(["history"])).stdout).toBe("no session has changed E's files yet\n");
      writeFileSync(`${r}/a.txt`, "R's a\n");
      const id = await pushSession();
      const cases: [string[], number, RegExp][] = [
        [["undo", "999"], 2, /^zync-apply: there is no session "999"; 'zync-apply list --all' shows every session\n$/],
        [["undo", "3x;rm"], 2, /^zync-apply: there is no session "3x;rm"/],
        [["undo", "0"], 2, /^zync-apply: there is no session "0"/],
        [["undo", String(id)], 1, new RegExp(`^zync-apply: session ${id} is pending: nothing of it was applied, so there is nothing to undo\\n$`)],
      ];
      for (const [args, code, sentence] of cases) {
        const run = await apply(args);
        expect([args, run.code, run.stdout]).toEqual([args, code, ""]);
        expect(run.stderr).toMatch(sentence);
        expect(run.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
      }
      expect((await apply(["reject", String(id)])).code).toBe(0);
      const rejected = await apply(["undo", String(id)]);
      expect([rejected.code, rejected.stderr]).toEqual([1, `zync-apply: session ${id} was rejected: nothing of it was applied, so there is nothing to undo\n`]);
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { removeTempDirs } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { listSessions, outcomes, withUpstreamPair, writeFiles } from "../helpers/upstream.js";

afterAll(removeTempDirs);

const GEN = Array.from({ length: 30 }, (_, i) => `gen/part${String(i).padStart(2, "0")}.txt`);
const SRC = ["src/main.ts", "src/util/strings.ts", "src/util/numbers.ts"];
const START: Record<string, string> = Object.fromEntries([...GEN, ...SRC, "plain.txt"].map((p) => [p, `${p} as both started\n`]));

const onR = (p: string): string => `${p} edited on R\n`;
const onE = (p: string): string => `${p} edited on E\n`;

describe("zync-apply apply --take r|e --paths GLOB", () => {
  test("with many conflicts, only those the glob names take R's version; the others stay pending with E's content, non-conflicting changes are applied", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      for (const p of [...GEN, ...SRC]) {
        writeFileSync(`${r}/${p}`, onR(p));
        writeFileSync(`${e}/${p}`, onE(p));
      }
      writeFileSync(`${r}/plain.txt`, onR("plain.txt"));
      writeFiles(r, { "docs/new.md": "new on R\n" });
      const id = await pushSession();
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, conflicts: GEN.length + SRC.length })]);

      const run = await apply(["apply", String(id), "--take", "r", "--paths", "gen/**"]);
      // src/ is still in conflict and needs a look: exit 3, as --merge does for what it leaves.
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 3, stderr: "" });
      for (const p of GEN) expect(readFileSync(`${e}/${p}`, "utf8")).toBe(onR(p));
      for (const p of SRC) expect(readFileSync(`${e}/${p}`, "utf8")).toBe(onE(p));
      expect(readFileSync(`${e}/plain.txt`, "utf8")).toBe(onR("plain.txt"));
      expect(readFileSync(`${e}/docs/new.md`, "utf8")).toBe("new on R\n");
      for (const p of SRC) expect(run.stdout).toContain(`left pending: ${p}: in conflict with E, and no --paths glob names it`);
      const after = await outcomes(db, id);
      expect(Object.entries(after).filter(([, o]) => o === "applied").map(([p]) => p).sort()).toEqual([...GEN, "docs", "docs/new.md", "plain.txt"].sort());
      expect(Object.entries(after).filter(([, o]) => o === "pending").map(([p]) => p).sort()).toEqual([...SRC].sort());
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "partial", conflicts: SRC.length })]);
      // E's versions of the files R's replaced are kept, as for any conflict taken from R.
      expect(run.stdout).toMatch(/E's previous versions of 31 overwritten or deleted file\(s\) are kept/);

      // A folder's name alone names all under it; keeping E's settles the rest and the session is done.
      const keep = await apply(["apply", String(id), "--take", "e", "--paths", "src"]);
      expect({ code: keep.code, stderr: keep.stderr }).toEqual({ code: 0, stderr: "" });
      for (const p of SRC) expect(readFileSync(`${e}/${p}`, "utf8")).toBe(onE(p));
      expect(Object.entries(await outcomes(db, id)).filter(([, o]) => o === "skipped").map(([p]) => p).sort()).toEqual([...SRC].sort());
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied", pending: 0 })]);
    });
  });

  test("a glob that names no conflict is one sentence and exit 2, and nothing is changed", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      for (const p of SRC) {
        writeFileSync(`${r}/${p}`, onR(p));
        writeFileSync(`${e}/${p}`, onE(p));
      }
      writeFileSync(`${r}/plain.txt`, onR("plain.txt"));
      const id = await pushSession();
      const before = snapshotTree(e);

      for (const glob of ["gen/**", "/src/**"]) {
        const run = await apply(["apply", String(id), "--take", "r", "--paths", "src/main.ts", "--paths", glob]);
        expect(run.code).toBe(2);
        expect(run.stdout).toBe("");
        expect(run.stderr.trim().split("\n")).toEqual([
          `zync-apply: --paths '${glob}' names nothing in session ${id}: none of its 3 pending conflict(s) lies there (globs are matched against paths relative to the root, such as src/a.txt; 'zync-apply show ${id}' lists them); nothing was changed`,
        ]);
      }
      expect(snapshotTree(e)).toEqual(before);
      expect(new Set(Object.values(await outcomes(db, id)))).toEqual(new Set(["pending"]));

      const alone = await apply(["apply", String(id), "--paths", "src/**"]);
      expect(alone.code).toBe(2);
      expect(alone.stderr).toMatch(/^zync-apply: --paths goes with --take r\|e/);
      expect(snapshotTree(e)).toEqual(before);
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { BIN, runBin } from "../helpers/bins.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { outcomes, withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

describe("merging an upstream conflict on E", () => {
  test("E edits line 1, R edits line 5: the daemon kept the version it served, and zync-apply --merge combines both edits", async () => {
    await withUpstreamPair({ "five.txt": FIVE, "same.txt": FIVE }, async ({ e, r, db, pushSession, apply }) => {
      // The daemon served five.txt to R during the initial sync, and keeps that version as the base of a merge.
      const baseHash = await hashBytes(Buffer.from(FIVE));
      await waitFor(() => existsSync(`${db}.versions/${baseHash}.gz`) || undefined, "the served version in E's version store");
      const status = await runBin(BIN.daemon, ["status", "--json", "--db", db]);
      expect(JSON.parse(status.stdout)).toEqual(expect.objectContaining({ versions: expect.objectContaining({ path: `${db}.versions`, files: 1 }) }));
      expect((await runBin(BIN.daemon, ["status", "--db", db])).stdout).toMatch(/version store: 1 version\(s\)/);

      writeFileSync(`${r}/five.txt`, FIVE.replace("line5", "line5 R"));
      writeFileSync(`${r}/same.txt`, FIVE.replace("line3", "line3 R"));
      writeFileSync(`${e}/five.txt`, FIVE.replace("line1", "line1 E"));
      writeFileSync(`${e}/same.txt`, FIVE.replace("line3", "line3 E"));
      const id = await pushSession();

      const run = await apply(["apply", String(id), "--merge"]);
      expect(run.code).toBe(3);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/merged five\.txt/);
      expect(run.stdout).toMatch(/left pending: same\.txt: merge not offered: E's and R's changes overlap in 1 place/);
      expect(readFileSync(`${e}/five.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
      expect(readFileSync(`${e}/same.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 E"));
      expect(await outcomes(db, id)).toEqual({ "five.txt": "applied", "same.txt": "pending" });
    });
  });

  test("--merge with --force is refused with one sentence", async () => {
    await withUpstreamPair({ "a.txt": "a\n" }, async ({ r, pushSession, apply }) => {
      writeFileSync(`${r}/a.txt`, "a R\n");
      const id = await pushSession();
      const run = await apply(["apply", String(id), "--merge", "--force", "--non-interactive"]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/--merge and --force exclude each other/);
      expect(run.stderr).not.toContain("    at ");
    });
  });
});

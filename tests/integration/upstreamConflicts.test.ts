import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { removeTempDirs } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { listSessions, outcomes, showSession, withUpstreamPair, writeFiles } from "../helpers/upstream.js";

afterAll(removeTempDirs);

const START = {
  "shared.txt": "original\n",
  "other.txt": "other v1\n",
  "notes/todo.md": "- one\n",
};

const R_EDIT = "edited on R, to be offered upstream\n";
const E_EDIT = "edited on E meanwhile, by someone else\n";

describe("upstream conflicts", () => {
  test("a path both sides edited is a conflict: --non-interactive refuses with exit 3 and changes nothing; --force applies R's and keeps E's copy of every file it overwrote", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${r}/other.txt`, "other v2 from R\n");
      writeFiles(r, { "notes/added.md": "added on R\n" });
      writeFileSync(`${e}/shared.txt`, E_EDIT);

      const id = await pushSession();
      const shown = await showSession(db, id);
      const conflictOf = Object.fromEntries(shown.changes.map((c) => [c.path, c.conflict]));
      expect(conflictOf).toEqual({ "shared.txt": true, "other.txt": false, "notes/added.md": false });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "pending", conflicts: 1 })]);

      const before = snapshotTree(e);
      const refused = await apply(["apply", String(id), "--non-interactive"]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/--force/);
      expect(`${refused.stdout}${refused.stderr}`).toMatch(/shared\.txt/);
      expect(refused.stderr).not.toContain("    at ");
      // Nothing at all was applied: not the conflict, and not the changes that do not conflict either.
      expect(readFileSync(`${e}/shared.txt`, "utf8")).toBe(E_EDIT);
      expect(readFileSync(`${e}/other.txt`, "utf8")).toBe("other v1\n");
      expect(existsSync(`${e}/notes/added.md`)).toBe(false);
      expect(snapshotTree(e)).toEqual(before);
      expect(await outcomes(db, id)).toEqual({ "shared.txt": "pending", "other.txt": "pending", "notes/added.md": "pending" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "pending" })]);

      const forced = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${e}/shared.txt`, "utf8")).toBe(R_EDIT);
      expect(readFileSync(`${e}/other.txt`, "utf8")).toBe("other v2 from R\n");
      expect(readFileSync(`${e}/notes/added.md`, "utf8")).toBe("added on R\n");
      expect(snapshotTree(e)).toEqual(snapshotTree(r));

      // E's previous version of every file the apply overwrote is kept in the session's folder, and show names it.
      const replacedDir = `${db}.staging/${id}/replaced`;
      expect(readdirSync(replacedDir).map((f) => readFileSync(`${replacedDir}/${f}`, "utf8")).sort()).toEqual([E_EDIT, "other v1\n"].sort());
      const kept = Object.fromEntries((await showSession(db, id)).changes.map((c) => [c.path, c.kept && readFileSync(c.kept, "utf8")]));
      expect(kept).toEqual({ "shared.txt": E_EDIT, "other.txt": "other v1\n", "notes/added.md": null });
      expect(await outcomes(db, id)).toEqual({ "shared.txt": "applied", "other.txt": "applied", "notes/added.md": "applied" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied", pending: 0, conflicts: 0 })]);
    });
  });

  test("a path deleted on E that R edited is a conflict too", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/notes/todo.md`, R_EDIT);
      unlinkSync(`${e}/notes/todo.md`);

      const id = await pushSession();
      expect((await showSession(db, id)).changes).toEqual([expect.objectContaining({ path: "notes/todo.md", conflict: true })]);
      const refused = await apply(["apply", String(id), "--non-interactive"]);
      expect(refused.code).toBe(3);
      expect(existsSync(`${e}/notes/todo.md`)).toBe(false);
    });
  });

  test("a file both sides created with different content is a conflict; --force takes R's and keeps E's", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      writeFiles(r, { "notes/new.md": "created on R\n" });
      writeFiles(e, { "notes/new.md": "created on E, differently\n" });

      const id = await pushSession();
      expect((await showSession(db, id)).changes).toEqual([expect.objectContaining({ path: "notes/new.md", kind: "add", conflict: true })]);
      expect((await apply(["apply", String(id), "--non-interactive"])).code).toBe(3);
      expect(readFileSync(`${e}/notes/new.md`, "utf8")).toBe("created on E, differently\n");

      const forced = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${e}/notes/new.md`, "utf8")).toBe("created on R\n");
      const replacedDir = `${db}.staging/${id}/replaced`;
      expect(readdirSync(replacedDir).map((f) => readFileSync(`${replacedDir}/${f}`, "utf8"))).toEqual(["created on E, differently\n"]);
    });
  });

  test("a file R deleted that E edited is a conflict; --force deletes it on E and keeps E's edit in the session's folder", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      unlinkSync(`${r}/other.txt`);
      writeFileSync(`${e}/other.txt`, E_EDIT);

      const id = await pushSession();
      expect((await showSession(db, id)).changes).toEqual([expect.objectContaining({ path: "other.txt", kind: "delete", conflict: true })]);
      const refused = await apply(["apply", String(id), "--non-interactive"]);
      expect(refused.code).toBe(3);
      expect(readFileSync(`${e}/other.txt`, "utf8")).toBe(E_EDIT);

      const forced = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: "" });
      expect(existsSync(`${e}/other.txt`)).toBe(false);
      const replacedDir = `${db}.staging/${id}/replaced`;
      expect(readdirSync(replacedDir).map((f) => readFileSync(`${replacedDir}/${f}`, "utf8"))).toEqual([E_EDIT]);
    });
  });

  test("a folder R deleted is not removed on E while E has put a new file in it: that deletion is left pending (exit 3)", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      rmSync(`${r}/notes`, { recursive: true });
      writeFiles(e, { "notes/e-only.md": "E's new note\n" });

      const id = await pushSession();
      const run = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/left pending: notes\b/);
      expect(readFileSync(`${e}/notes/e-only.md`, "utf8")).toBe("E's new note\n");
      // The file R deleted inside it did go.
      expect(existsSync(`${e}/notes/todo.md`)).toBe(false);
      expect(await outcomes(db, id)).toEqual({ "notes/todo.md": "applied", notes: "pending" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "partial", pending: 1 })]);
    });
  });

  test("identical edits on both sides are not a conflict", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      const SAME = "the same fix, made on both machines\n";
      writeFileSync(`${r}/shared.txt`, SAME);
      writeFileSync(`${e}/shared.txt`, SAME);

      const id = await pushSession();
      expect((await showSession(db, id)).changes).toEqual([expect.objectContaining({ path: "shared.txt", conflict: false })]);
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, conflicts: 0 })]);

      const run = await apply(["apply", String(id), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${e}/shared.txt`, "utf8")).toBe(SAME);
      expect(existsSync(`${db}.staging/${id}/replaced`)).toBe(false);
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied" })]);
    });
  });

  test("reject leaves E untouched and the session is listed as rejected", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFiles(r, { "new.txt": "new on R\n" });
      const before = snapshotTree(e);

      const id = await pushSession();
      const run = await apply(["reject", String(id)]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(e)).toEqual(before);
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "rejected" })]);
      // Not waiting for review any more.
      expect(await listSessions(db, false)).toEqual([]);

      // And it cannot be applied afterwards.
      const late = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/rejected/);
      expect(snapshotTree(e)).toEqual(before);
    });
  });

  test("a conflict R reported on its pull is resolved by pushing R's version and applying it on E", async () => {
    await withUpstreamPair(START, async ({ e, r, db, once, pushSession, apply, daemonCaughtUp }) => {
      writeFileSync(`${r}/shared.txt`, R_EDIT);
      writeFileSync(`${e}/shared.txt`, E_EDIT);
      await daemonCaughtUp();
      const pulled = await once();
      expect(pulled.code).toBe(3);
      expect(pulled.stderr).toMatch(/conflict: code\/shared\.txt\b/);
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe(R_EDIT);

      const id = await pushSession();
      expect((await showSession(db, id)).changes).toEqual([expect.objectContaining({ path: "shared.txt", conflict: true })]);
      const forced = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${e}/shared.txt`, "utf8")).toBe(R_EDIT);

      await daemonCaughtUp();
      const after = await once();
      expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
      expect(after.stdout).not.toMatch(/conflict/);
      expect(after.stdout).not.toMatch(/received/);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      // Settled for good.
      const again = await once();
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    });
  });
});

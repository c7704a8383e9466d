import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { startClient } from "../helpers/bins.js";
import { pullUntilInStep } from "../helpers/pull.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { listSessions, pushUpstream, showSession, stagedSessionId, withUpstreamPair, writeFiles } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** E's starting tree for the bidirectional scenario. */
const START = {
  "a.txt": "alpha, as E wrote it\n",
  "docs/b.md": "# beta\n\nunchanged everywhere\n",
};

/** What R changes: one file modified (longer, so its size changes), one added. */
const R_A = "alpha, as R rewrote it on the remote box\n";
const R_NEW = "a file R created\n";

describe("upstream: R's changes staged on E and applied there", () => {
  test("R's edit and new file reach E; R's next pull downloads nothing and reports no conflict; E's next change still reaches R", async () => {
    await withUpstreamPair(START, async ({ e, r, db, once, push, pushSession, apply, daemonCaughtUp, daemon, clientDb }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFiles(r, { "src/new.ts": R_NEW });
      const before = snapshotTree(e);

      const id = await pushSession();
      // Staged only: nothing on E changed yet.
      expect(snapshotTree(e)).toEqual(before);
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "pending", files: 3, conflicts: 0 })]);

      const applied = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(readFileSync(`${e}/src/new.ts`, "utf8")).toBe(R_NEW);
      expect(snapshotTree(e)).toEqual(snapshotTree(r));
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied", pending: 0 })]);

      // The daemon records what zync-apply wrote like any edit; R recognises it as its own content.
      await daemonCaughtUp();
      const pull = await once();
      expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
      expect(pull.stdout).not.toMatch(/received/);
      expect(pull.stdout).not.toMatch(/conflict/);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      // Nothing new on R: a second push stages nothing.
      const again = await push();
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(again.stdout).not.toMatch(/staged session/);
      expect((await listSessions(db)).map((s) => s.id)).toEqual([id]);

      // E → R still works afterwards.
      writeFiles(e, { "from-e/later.txt": "created on E after the upstream\n" });
      await daemonCaughtUp();
      await pullUntilInStep(daemon, clientDb, { name: "code", e, r });
      expect(readFileSync(`${r}/from-e/later.txt`, "utf8")).toBe("created on E after the upstream\n");
      expect(snapshotTree(e)).toEqual(snapshotTree(r));
    });
  });

  test("offering the same changes twice stages one session, and the second run sends nothing", async () => {
    await withUpstreamPair(START, async ({ r, db, push, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      const id = await pushSession();

      const again = await push();
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(again.stdout).toMatch(new RegExp(`already staged on E as session ${id}\\b`));
      const sessions = await listSessions(db);
      expect(sessions.map((s) => [s.id, s.status])).toEqual([[id, "pending"]]);
    });
  });

  test("a newer offer from the same client and root replaces an untouched session, which is listed as aborted", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      const first = await pushSession();
      writeFiles(r, { "more.txt": "one more change\n" });
      const second = await pushSession();
      expect(second).not.toBe(first);
      expect((await listSessions(db)).map((s) => [s.id, s.status])).toEqual([
        [first, "aborted"],
        [second, "pending"],
      ]);
      expect((await listSessions(db, false)).map((s) => s.id)).toEqual([second]);
      expect((await apply(["apply", String(first), "--non-interactive"])).code).toBe(1);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(START["a.txt"]);

      // The newer session holds both changes.
      const run = await apply(["apply", String(second), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(e)).toEqual(snapshotTree(r));
    });
  });

  test("with nothing changed on R, --update-upstream stages nothing", async () => {
    await withUpstreamPair(START, async ({ db, push }) => {
      const run = await push();
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/nothing to push/);
      expect(await listSessions(db)).toEqual([]);
    });
  });

  test("what is ignored on R (VCS folders, node_modules, conflict copies, editor files, --ignore) is never offered", async () => {
    await withUpstreamPair(START, async ({ r, db, push }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFiles(r, {
        ".git/config": "[core]\n",
        "node_modules/dep/index.js": "module.exports = 1;\n",
        "a.txt.zync-conflict-20240101-120000": "a conflict copy R kept\n",
        "a.txt.swp": "vim swap\n",
        "notes~": "backup\n",
        "build.log": "ignored with --ignore\n",
      });
      const run = await push(["--ignore", "*.log"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      const shown = await showSession(db, stagedSessionId(run));
      expect(shown.changes.map((c) => c.path)).toEqual(["a.txt"]);
    });
  });

  test("a file R turned into a folder with files in it is applied by --non-interactive: the folder's own change clears the way", async () => {
    await withUpstreamPair(START, async ({ e, r, pushSession, apply }) => {
      rmSync(`${r}/a.txt`);
      writeFiles(r, { "a.txt/inside.md": "R made a.txt a folder\n", "a.txt/deeper/more.md": "and more\n" });
      const id = await pushSession();
      const run = await apply(["apply", String(id), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(e)).toEqual(snapshotTree(r));
    });
  });

  test("--update-upstream works while a live client holds R's database, and the live client then takes E's applied content as its own", async () => {
    await withUpstreamPair(START, async ({ e, r, db, daemon, clientDb, pushSession, apply, daemonCaughtUp }) => {
      const live = startClient(daemon.url, daemon.tokenFile, clientDb, [`code:${r}`]);
      try {
        writeFileSync(`${r}/a.txt`, R_A);
        const id = await pushSession();
        const run = await apply(["apply", String(id), "--non-interactive"]);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        await daemonCaughtUp();

        // A marker written on E after the apply: once the live client has it, it has seen the applied change too.
        writeFiles(e, { "marker.txt": "marker\n" });
        await waitFor(() => existsSync(`${r}/marker.txt`) && /synced: \d+ written/.test(live.stdout()), "the live client to pull the marker and report its pass");
        expect(snapshotTree(r)).toEqual(snapshotTree(e));
        expect(live.stderr()).toBe("");
        // Only the marker was written on R: the applied a.txt was recognised as R's own content.
        const written = [...live.stdout().matchAll(/synced: (\d+) written/g)].map((m) => Number(m[1]));
        expect(written.reduce((a, b) => a + b, 0)).toBe(1);
      } finally {
        await live.stop();
      }
    });
  });

  test("--update-upstream before R ever pulled is a usage error with a sentence", async () => {
    await withUpstreamPair(START, async ({ r, daemon }) => {
      const run = await pushUpstream(daemon, `${tempDir()}/never-pulled.db`, [`code:${r}`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/pull from E at least once/);
      expect(run.stderr).not.toContain("    at ");
    });
  });

  test("a deleted file, a deleted folder with contents and a chmod +x on R go upstream and are applied", async () => {
    const files = {
      "keep.txt": "stays\n",
      "gone.txt": "deleted on R\n",
      "tool.sh": "#!/bin/sh\necho hi\n",
      "olddir/x.txt": "x\n",
      "olddir/sub/y.txt": "y\n",
    };
    await withUpstreamPair(files, async ({ e, r, db, once, pushSession, apply, daemonCaughtUp }) => {
      expect(statSync(`${r}/tool.sh`).mode & 0o111).toBe(0);

      unlinkSync(`${r}/gone.txt`);
      rmSync(`${r}/olddir`, { recursive: true });
      chmodSync(`${r}/tool.sh`, 0o755);

      const id = await pushSession();
      const shown = await showSession(db, id);
      const byPath = Object.fromEntries(shown.changes.map((c) => [c.path, c]));
      expect(Object.keys(byPath).sort()).toEqual(["gone.txt", "olddir", "olddir/sub", "olddir/sub/y.txt", "olddir/x.txt", "tool.sh"]);
      expect(byPath["gone.txt"]).toMatchObject({ kind: "delete", conflict: false });
      expect(byPath["olddir"]).toMatchObject({ kind: "delete", conflict: false });
      expect(byPath["tool.sh"]).toMatchObject({ kind: "mode", conflict: false });

      const run = await apply(["apply", String(id), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(existsSync(`${e}/gone.txt`)).toBe(false);
      expect(existsSync(`${e}/olddir`)).toBe(false);
      expect(statSync(`${e}/tool.sh`).mode & 0o111).toBe(0o111);
      expect(readFileSync(`${e}/tool.sh`, "utf8")).toBe(files["tool.sh"]);
      expect(readFileSync(`${e}/keep.txt`, "utf8")).toBe("stays\n");
      expect(snapshotTree(e)).toEqual(snapshotTree(r));
      expect((await showSession(db, id)).changes.every((c) => c.outcome === "applied")).toBe(true);

      // R's next pull has nothing to do and finds nothing in conflict.
      await daemonCaughtUp();
      const pull = await once();
      expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
      expect(pull.stdout).not.toMatch(/synced:/);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    });
  });

  test("list --json and show --json carry the documented fields", async () => {
    const files = { "a.txt": "alpha\n", "gone.txt": "going\n", "run.sh": "echo run\n" };
    await withUpstreamPair(files, async ({ r, db, push, apply }) => {
      writeFileSync(`${r}/a.txt`, "alpha, longer on R\n");
      writeFiles(r, { "added.txt": "12345" });
      unlinkSync(`${r}/gone.txt`);
      chmodSync(`${r}/run.sh`, 0o755);
      const pushed = await push();
      expect({ code: pushed.code, stderr: pushed.stderr }).toEqual({ code: 0, stderr: "" });
      const id = stagedSessionId(pushed);

      const listed = await listSessions(db, false);
      expect(listed).toHaveLength(1);
      const row = listed[0]!;
      expect(row).toMatchObject({ id, status: "pending", files: 4, conflicts: 0, pending: 4, root: "code" });
      expect(typeof row.created).toBe("string");
      expect(Number.isNaN(Date.parse(row.created))).toBe(false);

      const shown = await showSession(db, id);
      expect(shown).toMatchObject({ id, status: "pending", root: "code" });
      const byPath = Object.fromEntries(shown.changes.map((c) => [c.path, c]));
      expect(byPath).toEqual({
        "a.txt": expect.objectContaining({ path: "a.txt", kind: "modify", size: Buffer.byteLength("alpha, longer on R\n"), conflict: false, outcome: "pending" }),
        "added.txt": expect.objectContaining({ path: "added.txt", kind: "add", size: 5, conflict: false, outcome: "pending" }),
        "gone.txt": expect.objectContaining({ path: "gone.txt", kind: "delete", size: 0, conflict: false, outcome: "pending" }),
        "run.sh": expect.objectContaining({ path: "run.sh", kind: "mode", size: Buffer.byteLength("echo run\n"), conflict: false, outcome: "pending" }),
      });

      // An unknown session is a usage error.
      const unknown = await apply(["show", "999", "--json"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/no session/);
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { startClient } from "../helpers/bins.js";
import { clientLogJson, clientStatusJson, daemonStatusJson, writeTree } from "../helpers/operatorCli.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { listSessions, showSession, stagedSessionId, withUpstreamPair, type UpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FILES = {
  "keep.txt": "left alone\n",
  "change.txt": "change v1\n",
  "gone.txt": "to be deleted on E\n",
  "shared.txt": "original\n",
};
const R_EDIT = "edited on R, not to be lost\n";
const E_EDIT = "edited on E at the same time\n";
/** 1536 bytes: printed as 1.5 KiB. */
const ADDED = "a".repeat(1536);
/** 700 bytes: printed as 700 B. */
const CHANGED = "c".repeat(700);

/** What the client state looks like from outside: status (cursor, conflicts), history and the daemon's acknowledgements. */
async function clientState(p: UpstreamPair): Promise<unknown> {
  const status = await clientStatusJson(p.clientDb, { server: p.daemon.url, tokenFile: p.daemon.tokenFile });
  const acks = Object.fromEntries((await daemonStatusJson(p.db)).clients.map((c) => [c.id, c.ackedSeq]));
  return { roots: status.roots, lastSync: status.lastSync, conflicts: status.conflicts, runs: await clientLogJson(p.clientDb), acks };
}

/** The change on E of every kind a pull knows, and a conflict on shared.txt. */
async function changeBothSides(p: UpstreamPair): Promise<void> {
  writeTree(p.e, { "new/added.txt": ADDED, "change.txt": CHANGED, "shared.txt": E_EDIT });
  unlinkSync(`${p.e}/gone.txt`);
  writeFileSync(`${p.r}/shared.txt`, R_EDIT);
  await p.daemonCaughtUp();
}

const lines = (out: string): string[] => out.split("\n").filter((l) => l !== "").sort();

describe("zync-client --once --dry-run", () => {
  test("lists what a pull would add, change, delete and flag, with sizes and a summary, and changes nothing", async () => {
    await withUpstreamPair(FILES, async (p) => {
      await changeBothSides(p);
      const rBefore = snapshotTree(p.r);
      const stateBefore = await clientState(p);

      const dry = await p.once(["--dry-run"]);
      expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: "" });
      expect(lines(dry.stdout)).toEqual(
        [
          "would add code/new",
          "would add code/new/added.txt (1.5 KiB)",
          "would change code/change.txt (700 B)",
          "would delete code/gone.txt",
          `would flag as conflict code/shared.txt (${E_EDIT.length} B)`,
          "dry run: 2 to add, 1 to change, 1 to delete, 1 in conflict, 2.2 KiB to fetch; nothing was changed",
        ].sort(),
      );

      // Nothing changed: not R's tree, not the client's cursor, conflicts or history, not the daemon's acknowledgement.
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(readFileSync(`${p.r}/shared.txt`, "utf8")).toBe(R_EDIT);
      expect(await clientState(p)).toEqual(stateBefore);

      // The same as JSON.
      const json = await p.once(["--dry-run", "--json"]);
      expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: "" });
      const parsed = JSON.parse(json.stdout) as { dryRun: boolean; changes: { action: string; path: string; size: number }[] };
      expect(parsed.dryRun).toBe(true);
      const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : 1);
      expect([...parsed.changes].sort(byPath)).toEqual(
        [
          { action: "add", path: "code/new", size: 0 },
          { action: "add", path: "code/new/added.txt", size: 1536 },
          { action: "change", path: "code/change.txt", size: 700 },
          { action: "delete", path: "code/gone.txt", size: 0 },
          { action: "conflict", path: "code/shared.txt", size: E_EDIT.length },
        ].sort(byPath),
      );
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(await clientState(p)).toEqual(stateBefore);

      // A real run afterwards does the work the dry run announced.
      const real = await p.once();
      expect(real.code).toBe(3);
      expect(real.stderr).toMatch(/conflict: code\/shared\.txt\b/);
      expect(readFileSync(`${p.r}/shared.txt`, "utf8")).toBe(R_EDIT);
      const skipShared = (rel: string): boolean => rel === "shared.txt";
      expect(snapshotTree(p.r, skipShared)).toEqual(snapshotTree(p.e, skipShared));
      const after = await clientStatusJson(p.clientDb, { server: p.daemon.url, tokenFile: p.daemon.tokenFile });
      const before = (stateBefore as { roots: { cursor: number }[] }).roots[0]!.cursor;
      expect(after.roots).toHaveLength(1);
      expect(after.roots[0]!.cursor).toBeGreaterThan(before);
      expect(after.roots[0]!.behind).toBe(0);
      expect(after.conflicts.map((c) => `${c.root}/${c.path}`)).toEqual(["code/shared.txt"]);

      // With only the open conflict left, a dry run flags just that.
      const again = await p.once(["--dry-run"]);
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
      expect(lines(again.stdout)).toEqual(
        [
          `would flag as conflict code/shared.txt (${E_EDIT.length} B)`,
          "dry run: 0 to add, 0 to change, 0 to delete, 1 in conflict, 0 B to fetch; nothing was changed",
        ].sort(),
      );
    });
  });

  test("a dry run only reads, so it runs beside a live client that holds the database", async () => {
    await withUpstreamPair(FILES, async (p) => {
      const live = startClient(p.daemon.url, p.daemon.tokenFile, p.clientDb, [`code:${p.r}`]);
      try {
        await waitFor(() => /connected to/.test(live.stdout()), "the live client to connect");
        // A real --once waits for the live client that holds the database (tests/integration/waitBarrier) ...
        const beside = await p.once();
        expect({ code: beside.code, stderr: beside.stderr }).toEqual({ code: 0, stderr: "" });
        // ... and a dry run reads the database itself.
        const dry = await p.once(["--dry-run"]);
        expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: "" });
        expect(dry.stdout).toMatch(/^dry run: 0 to add, 0 to change, 0 to delete, 0 in conflict, 0 B to fetch; nothing was changed$/m);
      } finally {
        await live.stop();
      }
    });
  });
});

describe("zync-client --update-upstream --dry-run", () => {
  test("lists R's own changes, flags a path R has an open conflict on, and stages nothing on E", async () => {
    await withUpstreamPair(FILES, async (p) => {
      // An open conflict on shared.txt first.
      writeFileSync(`${p.r}/shared.txt`, R_EDIT);
      writeFileSync(`${p.e}/shared.txt`, E_EDIT);
      await p.daemonCaughtUp();
      expect((await p.once()).code).toBe(3);
      // Then R's own edits of every kind.
      writeTree(p.r, { "change.txt": CHANGED, "new/added.txt": ADDED });
      unlinkSync(`${p.r}/gone.txt`);
      const rBefore = snapshotTree(p.r);
      const statusBefore = await clientStatusJson(p.clientDb);

      const dry = await p.push(["--dry-run"]);
      expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: "" });
      expect(lines(dry.stdout)).toEqual(
        [
          "would push: add code/new",
          "would push: add code/new/added.txt (1.5 KiB)",
          "would push: change code/change.txt (700 B)",
          "would push: delete code/gone.txt",
          `would push: change code/shared.txt (${R_EDIT.length} B) — E changed it too when R last pulled`,
          "dry run: 5 change(s) would be offered to E; nothing was sent",
        ].sort(),
      );
      // Nothing staged on E, nothing changed on R.
      expect(await listSessions(p.db)).toEqual([]);
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(await clientStatusJson(p.clientDb)).toEqual(statusBefore);

      // The real push offers exactly what the dry run listed.
      const real = await p.push();
      expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: "" });
      const shown = await showSession(p.db, stagedSessionId(real));
      expect(shown.changes.map((c) => `code/${c.path}`).sort()).toEqual(["code/change.txt", "code/gone.txt", "code/new", "code/new/added.txt", "code/shared.txt"]);
    });
  });
});

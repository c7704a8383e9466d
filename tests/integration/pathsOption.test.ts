import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, unlinkSync } from "node:fs";
import { clientLogJson, clientStatusJson, expectOneSentence, writeTree } from "../helpers/operatorCli.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { withUpstreamPair, type UpstreamPair } from "../helpers/upstream.js";

afterAll(removeTempDirs);

const FILES = {
  "src/a.txt": "a v1\n",
  "src/sub/b.txt": "b v1\n",
  "srcfoo/c.txt": "c v1\n",
  "docs/readme.md": "# readme v1\n",
  "top.txt": "top\n",
};

/** Changes of every kind on E, inside and outside src. */
async function changeEverywhere(p: UpstreamPair): Promise<void> {
  writeTree(p.e, {
    "src/a.txt": "a v2, longer\n",
    "src/sub/new.txt": "new in src\n",
    "srcfoo/c.txt": "c v2, longer\n",
    "docs/readme.md": "# readme v2, longer\n",
    "top2.txt": "new at the top\n",
  });
  unlinkSync(`${p.e}/src/sub/b.txt`);
  unlinkSync(`${p.e}/top.txt`);
  await p.daemonCaughtUp();
}

const under = (dir: string) => (rel: string) => rel === dir || rel.startsWith(`${dir}/`);
const notUnder = (dir: string) => (rel: string) => !under(dir)(rel);
const cursorOf = async (p: UpstreamPair): Promise<number> => (await clientStatusJson(p.clientDb)).roots.find((r) => r.name === "code")!.cursor;

describe("zync-client --once --paths", () => {
  test("applies only changes under the given path and leaves the cursor, so a later full run applies the rest", async () => {
    await withUpstreamPair(FILES, async (p) => {
      const rBefore = snapshotTree(p.r);
      await changeEverywhere(p);
      const cursor = await cursorOf(p);

      // A dry run with --paths previews only that part.
      const dry = await p.once(["--dry-run", "--paths", "src"]);
      expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: "" });
      expect(dry.stdout.split("\n").filter((l) => l.startsWith("would ")).sort()).toEqual([
        "would add code/src/sub/new.txt (11 B)",
        "would change code/src/a.txt (13 B)",
        "would delete code/src/sub/b.txt",
      ]);

      const run = await p.once(["--paths", "src"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      // src is in step with E; nothing else moved, not even a sibling whose name merely starts with "src".
      expect(snapshotTree(`${p.r}/src`)).toEqual(snapshotTree(`${p.e}/src`));
      expect(snapshotTree(p.r, under("src"))).toEqual(Object.fromEntries(Object.entries(rBefore).filter(([k]) => notUnder("src")(k))));
      expect(readFileSync(`${p.r}/srcfoo/c.txt`, "utf8")).toBe("c v1\n");
      expect(await cursorOf(p)).toBe(cursor);
      expect((await clientLogJson(p.clientDb))[0]).toMatchObject({ kind: "pull", files: 2, deleted: 1 });

      // A full run then applies the rest, without redoing src.
      const full = await p.once();
      expect({ code: full.code, stderr: full.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
      expect(await cursorOf(p)).toBeGreaterThan(cursor);
      expect((await clientLogJson(p.clientDb))[0]).toMatchObject({ kind: "pull", files: 3, deleted: 1 });
    });
  });

  test("takes several entries, a single file, and a trailing slash", async () => {
    await withUpstreamPair(FILES, async (p) => {
      await changeEverywhere(p);
      const cursor = await cursorOf(p);
      const run = await p.once(["--paths", "docs/readme.md", "src/sub/"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${p.r}/docs/readme.md`, "utf8")).toBe("# readme v2, longer\n");
      expect(snapshotTree(`${p.r}/src/sub`)).toEqual(snapshotTree(`${p.e}/src/sub`));
      // Outside the entries nothing changed.
      expect(readFileSync(`${p.r}/src/a.txt`, "utf8")).toBe("a v1\n");
      expect(readFileSync(`${p.r}/top.txt`, "utf8")).toBe("top\n");
      expect(await cursorOf(p)).toBe(cursor);

      const full = await p.once();
      expect({ code: full.code, stderr: full.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(p.r)).toEqual(snapshotTree(p.e));
    });
  });

  test.each([
    { entry: "../x", why: "leaves the root" },
    { entry: "/abs", why: "is absolute" },
    { entry: "src/../docs", why: "has a .. segment" },
    { entry: "./src", why: "has a . segment" },
  ])("--paths $entry ($why) exits 2 with one sentence and changes nothing", async ({ entry }) => {
    await withUpstreamPair(FILES, async (p) => {
      await changeEverywhere(p);
      const rBefore = snapshotTree(p.r);
      const cursor = await cursorOf(p);
      const runsBefore = await clientLogJson(p.clientDb);
      const run = await p.once(["--paths", entry]);
      expectOneSentence(run, "zync-client", 2, /--paths/);
      expect(run.stderr).toContain(entry);
      expect(snapshotTree(p.r)).toEqual(rBefore);
      expect(await cursorOf(p)).toBe(cursor);
      expect(await clientLogJson(p.clientDb)).toEqual(runsBefore);
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync, renameSync } from "node:fs";
import { BIN, runBin, runClientOnce, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { conflictLines, treeDiff } from "../helpers/faultRig.js";
import { makeExfat, titled } from "../helpers/loopFs.js";
import { writeTree } from "../helpers/operatorCli.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { zyncApply } from "../helpers/upstream.js";
import { faultSettings } from "../helpers/workload.js";

// exFAT keeps the case of a name but finds a file by any case, like the default disks of macOS and Windows.
const exfat = makeExfat(32);
if (!exfat.ok) console.warn(`case-insensitive R tests skipped: ${exfat.reason}`);
afterAll(() => {
  if (exfat.ok) exfat.fs.cleanup();
  removeTempDirs();
});
let rootCount = 0;

type Pair = { e: string; r: string; clientDb: string; daemon: TestDaemon };

/** E in a temp folder with `files`, R in a fresh folder on the exFAT mount, and a daemon serving E. */
async function withPair(files: Record<string, string>, body: (p: Pair) => Promise<void>): Promise<void> {
  if (!exfat.ok) throw new Error(exfat.reason);
  const e = tempDir("zync-e-");
  const r = `${exfat.fs.dir}/code${++rootCount}`;
  writeTree(e, files);
  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    await body({ e, r, clientDb: `${tempDir("zync-client-")}/client.db`, daemon });
  } finally {
    await daemon.stop();
  }
}

const once = (p: Pair): ReturnType<typeof runClientOnce> => runClientOnce(p.daemon, p.clientDb, [`code:${p.r}`]);

/** `--update-upstream --dry-run --json`: what R would offer E. */
async function wouldPush(p: Pair): Promise<{ action: string; path: string }[]> {
  const run = await runBin(BIN.client, ["--update-upstream", "--dry-run", "--json", "--server", p.daemon.url, "--token-file", p.daemon.tokenFile, "--db", p.clientDb, "--dirs", `code:${p.r}`]);
  if (run.code !== 0) throw new Error(`--update-upstream --dry-run exited ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { changes: { action: string; path: string }[] }).changes.map((c) => ({ action: c.action, path: c.path }));
}

/** `--update-upstream` for real, then the kinds of change of what E staged (nothing when nothing was staged). */
async function pushedKinds(p: Pair): Promise<string[]> {
  const run = await runBin(BIN.client, ["--update-upstream", "--server", p.daemon.url, "--token-file", p.daemon.tokenFile, "--db", p.clientDb, "--dirs", `code:${p.r}`]);
  if (run.code !== 0) throw new Error(`--update-upstream exited ${run.code}: ${run.stderr}`);
  const m = /staged session (\d+) on E/.exec(run.stdout);
  if (!m) return [];
  const shown = await zyncApply(p.daemon.db, ["show", m[1]!, "--json"]);
  return (JSON.parse(shown.stdout) as { changes: { path: string; kind: string }[] }).changes.map((c) => `${c.kind} ${c.path}`);
}

describe("a case-insensitive R (exFAT through FUSE)", () => {
  (exfat.ok ? test : test.skip)(
    titled("a case-only rename on E (readme.md -> README.md) arrives as a rename, loses nothing, and is never offered back as a deletion", exfat),
    async () => {
      await withPair({ "readme.md": "# read me\n", "other.txt": "other\n" }, async (p) => {
        expect((await once(p)).code).toBe(0);
        renameSync(`${p.e}/readme.md`, `${p.e}/README.md`);
        await waitForDaemonToRecord(p.daemon.url, p.daemon.tokenFile, "code", p.e);
        const run = await once(p);
        expect({ code: run.code, conflicts: conflictLines(run.stderr) }).toEqual({ code: 0, conflicts: [] });
        expect(readdirSync(p.r).filter((n) => !n.startsWith(".zync")).sort()).toEqual(["README.md", "other.txt"]);
        expect(readFileSync(`${p.r}/README.md`, "utf8")).toBe("# read me\n");
        expect(treeDiff(p.e, p.r)).toEqual([]);
        expect(await wouldPush(p)).toEqual([]);
      });
    },
  );

  (exfat.ok ? test : test.skip)(
    titled("E holding a.txt and A.txt gives R one of them whole plus a reported conflict, and R never offers E a deletion that only case folding made", exfat),
    async () => {
      await withPair({ "a.txt": "lower case a\n", "A.txt": "UPPER CASE A, longer\n", "b.txt": "b\n" }, async (p) => {
        const run = await once(p);
        const conflicts = conflictLines(run.stderr);
        expect({ code: run.code, conflicts: conflicts.length }).toEqual({ code: 3, conflicts: 1 });
        expect(conflicts[0]).toMatch(/conflict: code\/(a|A)\.txt /);
        const names = readdirSync(p.r).filter((n) => !n.startsWith(".zync")).sort();
        expect(names).toHaveLength(2);
        const kept = names.find((n) => n.toLowerCase() === "a.txt")!;
        // Whichever name R kept holds that name's content from E, whole.
        expect({ kept, content: readFileSync(`${p.r}/${kept}`, "utf8") }).toEqual({ kept, content: readFileSync(`${p.e}/${kept}`, "utf8") });
        expect(readFileSync(`${p.r}/b.txt`, "utf8")).toBe("b\n");
        // The conflict is on the name R could not hold, and it stays put on the next run.
        expect(conflicts[0]).toContain(`code/${kept === "a.txt" ? "A.txt" : "a.txt"} `);
        const again = await once(p);
        expect({ code: again.code, names: readdirSync(p.r).filter((n) => !n.startsWith(".zync")).sort() }).toEqual({ code: 3, names });
        expect((await wouldPush(p)).filter((c) => c.action === "delete")).toEqual([]);
        expect((await pushedKinds(p)).filter((k) => k.startsWith("delete"))).toEqual([]);
      });
    },
  );
});

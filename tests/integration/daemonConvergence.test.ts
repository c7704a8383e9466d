import { seededRandom } from "../helpers/seededRandom.js";
import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { startClient, startTestDaemon } from "../helpers/bins.js";
import { waitForLogToMatchDisk } from "../helpers/logVsDisk.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);


const NAMES = ["a", "b", "c d", "ü", "日本", "x.txt", "build", "src", "lib"];

/** Every path below `dir` (relative), folders included. */
function allPaths(dir: string, rel = ""): { path: string; isDir: boolean }[] {
  const out: { path: string; isDir: boolean }[] = [];
  let names: string[];
  try {
    names = readdirSync(rel === "" ? dir : `${dir}/${rel}`);
  } catch {
    return out;
  }
  for (const n of names) {
    const r = rel === "" ? n : `${rel}/${n}`;
    const st = lstatSync(`${dir}/${r}`);
    out.push({ path: r, isDir: st.isDirectory() });
    if (st.isDirectory()) out.push(...allPaths(dir, r));
  }
  return out;
}

/**
 * One random operation on the tree at `e`: creates, overwrites (same size too), truncations, deletes, renames of
 * files and folders, folders removed and made again, folders replaced by files and back, chmod, symlinks.
 */
function randomOp(e: string, rnd: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const existing = allPaths(e);
  const dirs = ["", ...existing.filter((p) => p.isDir).map((p) => p.path)].filter((d) => d.split("/").length < 4);
  const files = existing.filter((p) => !p.isDir).map((p) => p.path);
  const at = (d: string, n: string): string => (d === "" ? `${e}/${n}` : `${e}/${d}/${n}`);
  const content = (): string => `v${Math.floor(rnd() * 1e6)}\n`.repeat(1 + Math.floor(rnd() * 4));
  try {
    switch (Math.floor(rnd() * 11)) {
      case 0:
      case 1:
        writeFileSync(at(pick(dirs), pick(NAMES)), content());
        break;
      case 2:
        if (files.length > 0) {
          const f = `${e}/${pick(files)}`;
          // A same-size overwrite: only the content (and ctime) tells.
          if (!lstatSync(f).isSymbolicLink()) writeFileSync(f, "x".repeat(lstatSync(f).size));
        }
        break;
      case 3:
        if (files.length > 0) {
          const f = `${e}/${pick(files)}`;
          if (!lstatSync(f).isSymbolicLink()) truncateSync(f, Math.floor(rnd() * 3));
        }
        break;
      case 4:
        if (files.length > 0) rmSync(`${e}/${pick(files)}`, { force: true });
        break;
      case 5:
        mkdirSync(at(pick(dirs), pick(NAMES)), { recursive: true });
        break;
      case 6: {
        // A folder removed and made again, then written into at once.
        const d = pick(dirs);
        if (d === "") break;
        rmSync(`${e}/${d}`, { recursive: true, force: true });
        mkdirSync(`${e}/${d}`, { recursive: true });
        writeFileSync(`${e}/${d}/${pick(NAMES)}`, content());
        break;
      }
      case 7: {
        const from = pick([...files, ...dirs.filter((d) => d !== "")]);
        if (from === undefined) break;
        const to = at(pick(dirs), pick(NAMES));
        if (!to.startsWith(`${e}/${from}/`) && !existsSync(to)) renameSync(`${e}/${from}`, to);
        break;
      }
      case 8: {
        // A folder replaced by a file, or a file by a folder.
        const p = pick([...files, ...dirs.filter((d) => d !== "")]);
        if (p === undefined) break;
        const wasDir = lstatSync(`${e}/${p}`).isDirectory();
        rmSync(`${e}/${p}`, { recursive: true, force: true });
        if (wasDir) writeFileSync(`${e}/${p}`, content());
        else mkdirSync(`${e}/${p}`);
        break;
      }
      case 9:
        if (files.length > 0) {
          const f = `${e}/${pick(files)}`;
          if (!lstatSync(f).isSymbolicLink()) chmodSync(f, rnd() < 0.5 ? 0o755 : 0o644);
        }
        break;
      case 10: {
        const l = at(pick(dirs), `link-${pick(NAMES)}`);
        if (!existsSync(l)) symlinkSync(pick(["x.txt", "../a", "nowhere"]), l);
        break;
      }
    }
  } catch (err) {
    // A pick that raced with its own earlier op (a parent already gone, say) is simply skipped.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "EEXIST" && code !== "EISDIR" && code !== "ENOTEMPTY" && code !== "EINVAL") throw err;
  }
}

describe("the daemon's log converges to E's disk", () => {
  test("a folder removed and made again is still watched: files written in it later reach a live client", async () => {
    const e = tempDir("zync-e-");
    mkdirSync(`${e}/build`);
    writeFileSync(`${e}/build/old.o`, "old\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const r = `${tempDir("zync-r-")}/code`;
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
    try {
      await waitFor(() => JSON.stringify(snapshotTree(r)) === JSON.stringify(snapshotTree(e)), "the first sync");
      rmSync(`${e}/build`, { recursive: true });
      mkdirSync(`${e}/build`);
      // Once the daemon has seen the new, empty folder, files arrive in it.
      await waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e);
      writeFileSync(`${e}/build/new.o`, "new\n");
      mkdirSync(`${e}/build/sub`);
      writeFileSync(`${e}/build/sub/deep.o`, "deep\n");
      await waitFor(() => JSON.stringify(snapshotTree(r)) === JSON.stringify(snapshotTree(e)), "build/new.o on R");
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("after seeded random churn on E, once quiet, the change log equals a fresh scan of the disk by hash", async () => {
    const seed = Number(process.env.ZYNC_CHURN_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const ops = Number(process.env.ZYNC_CHURN_OPS ?? 600);
    const rnd = seededRandom(seed);
    const e = tempDir("zync-e-");
    mkdirSync(`${e}/src/lib`, { recursive: true });
    mkdirSync(`${e}/build`);
    for (const n of NAMES.slice(0, 5)) writeFileSync(`${e}/src/${n}`, `${n}\n`);
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      for (let i = 0; i < ops; i++) {
        randomOp(e, rnd);
        // Bursts with no pause, and pauses long enough for the watcher to hand batches on.
        if (rnd() < 0.1) await new Promise((resolve) => setTimeout(resolve, Math.floor(rnd() * 40)));
      }
      await waitForLogToMatchDisk(daemon.url, daemon.tokenFile, "code", e, 30_000).catch((err: unknown) => {
        throw new Error(`churn seed ${seed} (${ops} ops; replay with ZYNC_CHURN_SEED=${seed} ZYNC_CHURN_OPS=${ops}): ${(err as Error).message}`);
      });
    } finally {
      await daemon.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, runBin, startTestDaemon } from "../helpers/bins.js";
import { ensureGit, git } from "../helpers/gitRepo.js";
import { inotifyWatches } from "../helpers/inotifyWatches.js";
import { ensureStrace, onlyChild, traceLauncher, tracedCallsOn } from "../helpers/syscallTrace.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

/** The big tree lives in memory when it can: deleting 50,000 files from a busy disk takes minutes. */
const TMPFS_MAGIC = 0x01021994;
const inMemory = existsSync("/dev/shm") && statfsSync("/dev/shm").type === TMPFS_MAGIC ? "/dev/shm" : tmpdir();
const bigTrees: string[] = [];

afterAll(() => {
  for (const d of bigTrees.splice(0)) rmSync(d, { recursive: true, force: true });
  removeTempDirs();
});

/** node_modules: 500 packages of 100 files each. */
const PACKAGES = 500;
const FILES_PER_PACKAGE = 100;

/** A repository whose synced part is four folders and four files (.gitignore included), beside 50,000 files in node_modules and a target/. */
function bigIgnoredRepo(): string {
  const e = mkdtempSync(join(inMemory, "zync-e-"));
  bigTrees.push(e);
  git(e, ["init", "-q", "-b", "main"]);
  writeFileSync(`${e}/.gitignore`, "node_modules/\ntarget/\n");
  mkdirSync(`${e}/src/lib`, { recursive: true });
  mkdirSync(`${e}/docs`);
  writeFileSync(`${e}/src/main.ts`, "main\n");
  writeFileSync(`${e}/src/lib/util.ts`, "util\n");
  writeFileSync(`${e}/docs/readme.md`, "docs\n");
  for (let p = 0; p < PACKAGES; p++) {
    const dir = `${e}/node_modules/pkg${p}/lib`;
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_PACKAGE; f++) writeFileSync(`${dir}/f${f}.js`, "x");
  }
  mkdirSync(`${e}/target/debug/deps`, { recursive: true });
  writeFileSync(`${e}/target/debug/deps/lib.rlib`, "x");
  return e;
}

/** How often the folder `abs` has been opened for listing. */
const listings = (trace: string, abs: string): number => tracedCallsOn(trace, `${abs}"`).filter((l) => /O_DIRECTORY/.test(l)).length;

const missing = (() => {
  if (!existsSync(`/proc/${process.pid}/fdinfo`)) return "/proc/<pid>/fdinfo is not available here, so watches cannot be counted";
  return ensureStrace((msg) => process.stderr.write(`${msg}\n`));
})();
const it = missing === undefined ? test : test.skip;

describe("ignored trees cost nothing", () => {
  it(`a node_modules of ${PACKAGES * FILES_PER_PACKAGE} files is never watched, listed or looked into, by the watcher, the first scan, rescans or a reload of the rules${missing === undefined ? "" : ` (skipped: ${missing})`}`, async () => {
    ensureGit();
    const e = bigIgnoredRepo();
    const trace = `${tempDir("zync-trace-")}/daemon.trace`;
    // Full rescans every second, so that several of them run while the daemon is traced.
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--rescan-interval", "1"], launcher: traceLauncher(trace) });
    const pid = await waitFor(() => onlyChild(daemon.proc.pid!), "the traced daemon's pid");
    try {
      // The root, src, src/lib and docs, and the git folder itself (watched for git's locks, nothing below it).
      await waitFor(() => (inotifyWatches(pid) ?? 0) >= 5, "the daemon's watches");
      expect(inotifyWatches(pid)).toBe(5);
      // Listed by the watcher, the first scan and at least two periodic rescans.
      await waitFor(() => listings(trace, `${e}/src/lib`) >= 4, "two full rescans", 60_000, 100);
      const before = listings(trace, `${e}/src/lib`);
      appendFileSync(`${e}/.gitignore`, "*.log\n");
      await waitFor(() => listings(trace, `${e}/src/lib`) >= before + 2, "the rescans after the rules changed", 60_000, 100);
      expect(inotifyWatches(pid)).toBe(5);
      const status = await runBin(BIN.daemon, ["status", "--db", daemon.db, "--json"]);
      expect((JSON.parse(status.stdout) as { roots: { files: number }[] }).roots[0]!.files).toBe(4);
    } finally {
      process.kill(pid, "SIGTERM");
      await daemon.exited;
    }
    for (const ignored of ["node_modules", "target"]) {
      // Nothing inside is ever named: no stat, no open, no watch.
      expect(tracedCallsOn(trace, `${e}/${ignored}/`)).toEqual([]);
      // The folder itself is only looked at, to learn that it is a folder: never listed, never watched.
      const own = tracedCallsOn(trace, `${e}/${ignored}"`);
      expect(own.length).toBeGreaterThan(0);
      expect(own.filter((l) => !/^\d+\s+(statx|newfstatat|lstat|stat)\(/.test(l))).toEqual([]);
    }
    expect(readFileSync(trace, "utf8")).toMatch(/inotify_add_watch\(/);
  });
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { BIN, runBin, runClientOnce, spawnBin, startTestDaemon } from "../helpers/bins.js";
import { ensureGit, gitListedFiles, trackedOnlyRepo } from "../helpers/gitRepo.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

describe("zync-daemon --git-tracked-only", () => {
  test("R receives exactly the files git ls-files --cached --others --exclude-standard lists, and both check-ignores say why the rest is left out", async () => {
    const e = tempDir("zync-git-e-");
    const extra = trackedOnlyRepo(e);
    const listed = gitListedFiles(e);
    const r = `${tempDir()}/target`;
    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--git-tracked-only", ...extra.flatMap((x) => ["--ignore", x])] });
    try {
      const pulled = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect([pulled.code, pulled.stderr]).toEqual([0, ""]);
      const files = Object.entries(snapshotTree(r))
        .filter(([, what]) => what.startsWith("file"))
        .map(([path]) => path);
      expect(files.sort()).toEqual([...listed].sort());

      const onE = spawnBin(BIN.daemon, ["check-ignore", "--db", daemon.db, "build/x.js", "vendor/lib", "build/tracked.js"], {}, e);
      expect(await onE.exited).toBe(0);
      expect(onE.stdout().split("\n")).toEqual([
        "ignored  build/x.js  (code:build/x.js)  git ignores it (--git-tracked-only): .gitignore:1:build/",
        "ignored  vendor/lib  (code:vendor/lib)  a repository of its own, whose files git does not list (--git-tracked-only)",
        "synced   build/tracked.js  (code:build/tracked.js)  git tracks it",
        "",
      ]);
      const onR = await runBin(BIN.client, ["check-ignore", `${r}/build/x.js`, `${r}/z.secret`, "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`]);
      expect(onR.code).toBe(0);
      expect(onR.stdout.split("\n").filter((l) => l.startsWith("E:"))).toEqual([
        `E: ignored  ${r}/build/x.js  (code:build/x.js)  git ignores it (--git-tracked-only): .gitignore:1:build/`,
        `E: ignored  ${r}/z.secret  (code:z.secret)  git ignores it (--git-tracked-only): E's .git/info/exclude line 1`,
      ]);
    } finally {
      await daemon.stop();
    }
  });

  test("a root outside every git work tree is refused with one sentence and exit 2", async () => {
    const plain = tempDir("zync-plain-");
    const db = `${tempDir()}/sync.db`;
    const out = await runBin(BIN.daemon, ["--port", "0", "--db", db, "--dirs", `code:${plain}`, "--git-tracked-only"]);
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split("\n")).toEqual([`zync-daemon: --git-tracked-only: root code (${plain}) is not in a git work tree`]);
  });
});

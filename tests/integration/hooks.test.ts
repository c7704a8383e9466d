import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { BIN, runBin, runClientOnce, spawnBin, startClient, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const read = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, "utf8") : undefined);
const lines = (path: string): string[] => (read(path) ?? "").split("\n").filter((l) => l !== "");

/** The NUL-terminated list a hook was given (copied by the hook), as paths. */
const listed = (path: string): string[] => readFileSync(path, "utf8").split("\u0000").filter((p) => p !== "").sort();

describe("--on-change hooks on R", () => {
  test("a hook runs once after the whole batch landed, in the root, with exactly the matching changed paths in its list file", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const out = tempDir("zync-hook-out-");
    mkdirSync(`${e}/src/api`, { recursive: true });
    const odd = "src/api/odd\nname $x.proto";
    for (let i = 0; i < 40; i++) writeFileSync(`${e}/src/file${i}.ts`, `export const n = ${i};\n`);
    writeFileSync(`${e}/src/api/a.proto`, "syntax = 1;\n");
    writeFileSync(`${e}/${odd}`, "syntax = 2;\n");
    writeFileSync(`${e}/top.proto`, "not under src\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    // The hook copies its list, notes its environment and lists the tree it finds when it starts.
    const hook = `cp "$ZYNC_CHANGED_FILE" '${out}/list'; printf '%s|%s|%s|%s|%s' "$ZYNC_CHANGED_COUNT" "$ZYNC_ROOT_NAME" "$ZYNC_ROOT" "$PWD" "\${ZYNC_TOKEN-no token}" > '${out}/env'; find src -type f -name '*.ts' | sort > '${out}/tree'; echo done >> '${out}/runs'`;
    // The token comes from the environment here: the client's, not the hook's.
    const token = readFileSync(daemon.tokenFile, "utf8").trim();
    const client = spawnBin(BIN.client, ["--server", daemon.url, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`, "--on-change", `src/**/*.proto=${hook}`], { ZYNC_TOKEN: token });
    try {
      await waitFor(() => lines(`${out}/runs`).length === 1, "the hook's first run");
      expect(listed(`${out}/list`)).toEqual(["src/api/a.proto", odd].sort());
      expect(read(`${out}/env`)).toBe(`2|code|${r}|${r}|no token`);
      // Every file of the pass was on disk when the hook started.
      const tree = lines(`${out}/tree`);
      expect(tree).toHaveLength(40);
      for (let i = 0; i < 40; i++) expect(tree).toContain(`src/file${i}.ts`);

      // A pass that changes no matching path runs no hook; the next matching one runs it with that path alone.
      writeFileSync(`${e}/src/file0.ts`, "changed\n");
      await waitFor(() => read(`${r}/src/file0.ts`) === "changed\n", "the change on R");
      writeFileSync(`${e}/src/api/a.proto`, "syntax = 3;\n");
      await waitFor(() => lines(`${out}/runs`).length === 2, "the hook's second run");
      expect(listed(`${out}/list`)).toEqual(["src/api/a.proto"]);
      // The client says so once the command has exited.
      await waitFor(() => /hook src\/\*\*\/\*\.proto ran for 1 changed file\(s\) in code: ok/.test(client.stdout()), "the client's line about the second run");
    } finally {
      client.proc.kill("SIGTERM");
      await client.exited;
      await daemon.stop();
    }
  });

  test("a failing hook is reported with its exit status, in the output and in the log, and the client goes on", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const db = `${tempDir()}/c.db`;
    writeFileSync(`${e}/package-lock.json`, "{}\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const client = startClient(daemon.url, daemon.tokenFile, db, [`code:${r}`], ["--on-change", "package-lock.json=echo 'bad lock \u001b[31m' >&2; exit 3"]);
    try {
      await waitFor(() => /exit status 3/.test(client.stderr()), "the hook's failure on stderr");
      // Its output came through prefixed, with the escape character made visible.
      expect(client.stderr()).toContain("hook package-lock.json: bad lock \\x1b[31m");
      expect(client.stderr()).not.toContain("\u001b");
      writeFileSync(`${e}/after.txt`, "the next pass lands\n");
      await waitFor(() => read(`${r}/after.txt`) === "the next pass lands\n", "the next pass on R");
      expect(client.proc.exitCode).toBeNull();
      const log = await runBin(BIN.client, ["log", "--db", db]);
      expect(log.code).toBe(0);
      expect(log.stdout).toMatch(/hook .*error: exit status 3 \(package-lock\.json=echo .* in code\)/);
      const json = await runBin(BIN.client, ["log", "--db", db, "--json"]);
      const runs = JSON.parse(json.stdout) as { kind: string; error?: string; files: number }[];
      expect(runs.find((x) => x.kind === "hook")).toMatchObject({ error: "exit status 3", files: 1 });
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("a long-running hook does not hold back the next pass; what arrives meanwhile runs once after it, never two at a time", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const out = tempDir("zync-hook-out-");
    writeFileSync(`${e}/first.txt`, "1\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    // Each run notes itself, flags an overlap, and (the first time) waits until the test releases it.
    const hook = [
      `mkdir '${out}/lock' 2>/dev/null || echo overlap >> '${out}/overlap'`,
      `n=$(ls '${out}' | grep -c '^list-')`,
      `cp "$ZYNC_CHANGED_FILE" '${out}'/list-$n`,
      `while [ ! -e '${out}/release' ]; do sleep 0.05; done`,
      `rmdir '${out}/lock'`,
    ].join("; ");
    const client = startClient(daemon.url, daemon.tokenFile, `${tempDir()}/c.db`, [`code:${r}`], ["--on-change", `*.txt=${hook}`]);
    try {
      await waitFor(() => existsSync(`${out}/list-0`), "the first hook run");
      writeFileSync(`${e}/second.txt`, "2\n");
      await waitFor(() => read(`${r}/second.txt`) === "2\n", "second.txt on R while the hook runs");
      writeFileSync(`${e}/third.txt`, "3\n");
      await waitFor(() => read(`${r}/third.txt`) === "3\n", "third.txt on R while the hook runs");
      expect(readdirSync(out).filter((f) => f.startsWith("list-"))).toEqual(["list-0"]);
      writeFileSync(`${out}/release`, "");
      await waitFor(() => existsSync(`${out}/list-1`), "the hook's run for what arrived meanwhile");
      await waitFor(() => !existsSync(`${out}/lock`), "the second run's end");
      expect(listed(`${out}/list-0`)).toEqual(["first.txt"]);
      expect(listed(`${out}/list-1`)).toEqual(["second.txt", "third.txt"]);
      expect(readdirSync(out).filter((f) => f.startsWith("list-"))).toHaveLength(2);
      expect(existsSync(`${out}/overlap`)).toBe(false);
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });

  test("rules come from the config file too, and a --once run ends only after its hooks have", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const out = tempDir("zync-hook-out-");
    writeFileSync(`${e}/package-lock.json`, "{}\n");
    writeFileSync(`${e}/other.txt`, "x\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const config = `${tempDir()}/zync.config.json`;
    writeFileSync(config, JSON.stringify({ client: { "on-change": [`package-lock.json=cp "$ZYNC_CHANGED_FILE" '${out}/list'`, `*.md=touch '${out}/md'`] } }));
    try {
      const run = await runClientOnce(daemon, `${tempDir()}/c.db`, [`code:${r}`], ["--config", config]);
      expect(run.code).toBe(0);
      // Already there when the run has exited: the run waited for its hook.
      expect(listed(`${out}/list`)).toEqual(["package-lock.json"]);
      expect(existsSync(`${out}/md`)).toBe(false);
      expect(run.stdout).toMatch(/hook package-lock\.json ran for 1 changed file\(s\) in code: ok/);
    } finally {
      await daemon.stop();
    }
  });

  test("a malformed --on-change rule is one sentence and exit 2", async () => {
    const res = await runBin(BIN.client, ["--once", "--server", "ws://127.0.0.1:1", "--token-file", "/dev/null", "--db", `${tempDir()}/c.db`, "--dirs", `code:${tempDir()}`, "--on-change", "no-equals-sign"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/is not of the form PATTERN=COMMAND/);
  });
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

/**
 * The packed tarball installed the way a user installs it: `npm install -g --prefix TMP ./zync-*.tgz`, then the
 * commands run from the PATH. better-sqlite3 comes from the registry (or npm's cache) like on any machine; by
 * default its native part is handed to its installer as a local prebuilt, made from this checkout's own build,
 * where a machine with internet access would download one. ZYNC_PACKAGE_FROM_SOURCE=1 (`npm run test:package`)
 * makes the install compile it from source instead, as it does on a machine that cannot download the prebuilt.
 */
const fromSource = process.env.ZYNC_PACKAGE_FROM_SOURCE === "1";
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const npm = "npm";

/** The environment of a fresh login shell with the installed prefix first on the PATH (no npm_* of this run). */
function freshEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_")) env[k] = v;
  return { ...env, PATH: `${join(prefix, "bin")}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`, NO_COLOR: "1", ZYNC_TOKEN: "", ...extra };
}

type Run = { code: number | string; stdout: string; stderr: string };

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): { proc: ReturnType<typeof spawn>; done: Promise<Run>; stdout(): string } {
  const proc = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], ...(cwd === undefined ? {} : { cwd }) });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    proc.once("error", reject);
    proc.once("close", (code, signal) => resolve({ code: code ?? signal ?? -1, stdout: out, stderr: err }));
  });
  return { proc, done, stdout: () => out };
}

describe("the packed tarball", () => {
  let work: string;
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  let installMs = 0;
  let tarball: string;
  /** What npm's install script of better-sqlite3 is given: a local prebuilt, or "compile from source". */
  const installEnv: Record<string, string> = {};

  beforeAll(async () => {
    work = tempDir("zync-package-");
    prefix = join(work, "prefix");
    tarball = execFileSync(process.execPath, [join(repo, "scripts/package.js"), "--no-build", "--out", work], { encoding: "utf8" }).trim();
    expect(tarball).toMatch(/zync-[\d.]+\.tgz$/);
    if (fromSource) {
      installEnv.npm_config_build_from_source = "better-sqlite3";
    } else {
      const sqlite = join(repo, "node_modules/better-sqlite3");
      const version = (JSON.parse(readFileSync(join(sqlite, "package.json"), "utf8")) as { version: string }).version;
      const prebuilds = join(work, "prebuilds");
      mkdirSync(prebuilds);
      const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
      execFileSync("tar", ["czf", join(prebuilds, name), "build/Release/better_sqlite3.node"], { cwd: sqlite });
      installEnv.npm_config_better_sqlite3_local_prebuilds = prebuilds;
    }
    env = freshEnv(prefix);
    const started = Date.now();
    const install = await run(npm, ["install", "-g", "--prefix", prefix, "--prefer-offline", "--allow-scripts=better-sqlite3", "--no-audit", "--no-fund", tarball], { ...env, ...installEnv }, work).done;
    installMs = Date.now() - started;
    if (install.code !== 0) throw new Error(`npm install -g exited ${install.code}: ${install.stderr}`);
    console.log(`npm install -g of the tarball (${fromSource ? "better-sqlite3 compiled from source" : "better-sqlite3 from a local prebuilt"}) took ${(installMs / 1000).toFixed(1)} s`);
  }, 600_000);
  afterAll(removeTempDirs);

  test("installs only the three commands and better-sqlite3 with its installer", () => {
    for (const bin of ["zync-daemon", "zync-client", "zync-apply"]) expect(existsSync(join(prefix, "bin", bin))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(prefix, "lib/node_modules/zync/package.json"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(manifest.dependencies as object)).toEqual(["better-sqlite3"]);
    expect(manifest).not.toHaveProperty("scripts");
    expect(existsSync(join(prefix, "lib/node_modules/zync/node_modules/better-sqlite3/build/Release/better_sqlite3.node"))).toBe(true);
  });

  test.each(["zync-daemon", "zync-client", "zync-apply"])("%s --help runs from the PATH", async (bin) => {
    const r = await run(bin, ["--help"], env).done;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${bin} `);
    expect(r.stdout).toContain("--db");
  });

  test("the installed client writes a service unit that runs the installed command, and prints its completion script", async () => {
    const units = join(work, "units");
    const r = await run("zync-client", ["service", "install", "--unit-dir", units, "--token-file", join(work, "token"), "--dirs", `code:${join(work, "r")}`], env, work).done;
    expect(r.code).toBe(0);
    const exec = /^ExecStart=(.*)$/m.exec(readFileSync(join(units, "zync-client.service"), "utf8"))?.[1];
    expect(exec).toBe(`${process.execPath} ${join(prefix, "bin/zync-client")} --token-file ${join(work, "token")} --dirs code:${join(work, "r")} --db ${join(work, "sync_client.db")}`);
    const completion = await run("zync-client", ["completion"], { ...env, SHELL: "/bin/bash" }).done;
    expect(completion.code).toBe(0);
    expect(completion.stdout).toContain("complete -o bashdefault -o default -F _zync-client_yargs_completions zync-client");
  });

  test("installed without install scripts, the commands say in one sentence how to build the SQLite module, and that works", async () => {
    const bare = join(work, "bare");
    const install = await run(npm, ["install", "-g", "--prefix", bare, "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], env, work).done;
    expect(install.code).toBe(0);
    const bareEnv = freshEnv(bare);
    const db = join(work, "bare.db");
    const served = join(work, "served");
    mkdirSync(served);
    const failed = await run(join(bare, "bin/zync-daemon"), ["--port", "0", "--db", db, "--dirs", `code:${served}`], bareEnv, work).done;
    expect(failed.code).toBe(1);
    const sentence = /^zync-daemon: the SQLite module \(better-sqlite3\) was installed without its native part, .*; build it with 'cd (\S+) && npm rebuild better-sqlite3', or install zync again with 'npm install -g --allow-scripts=better-sqlite3 \.\/zync-VERSION\.tgz'\n$/m.exec(failed.stderr);
    expect(sentence).not.toBeNull();
    expect(sentence![1]).toBe(join(bare, "lib/node_modules/zync"));
    const rebuilt = await run(npm, ["rebuild", "better-sqlite3"], { ...bareEnv, ...installEnv }, sentence![1]).done;
    expect(rebuilt.code).toBe(0);
    const daemon = run(join(bare, "bin/zync-daemon"), ["--port", "0", "--db", db, "--dirs", `code:${served}`], bareEnv, work);
    try {
      await waitFor(() => /listening on ws:\/\//.test(daemon.stdout()), "the daemon after npm rebuild");
    } finally {
      daemon.proc.kill("SIGTERM");
      await daemon.done;
    }
  }, 300_000);

  test("the installed daemon and client sync a folder over loopback", async () => {
    const e = join(work, "e");
    const r = join(work, "r");
    mkdirSync(join(e, "src"), { recursive: true });
    mkdirSync(r);
    writeFileSync(join(e, "src/main.c"), "int main(void) { return 0; }\n");
    writeFileSync(join(e, "name with spaces.txt"), "spaces\n");
    const db = join(work, "sync.db");
    const daemon = run("zync-daemon", ["--port", "0", "--db", db, "--dirs", `code:${e}`], env, work);
    try {
      const url = (await waitFor(() => /listening on (ws:\/\/\S+)/.exec(daemon.stdout()), "the installed daemon's listening line"))[1]!;
      const client = await run("zync-client", ["--once", "--server", url, "--token-file", `${db}.token`, "--db", join(work, "client.db"), "--dirs", `code:${r}`], env, work).done;
      expect(client.stderr).toBe("");
      expect(client.code).toBe(0);
      expect(readFileSync(join(r, "src/main.c"), "utf8")).toBe("int main(void) { return 0; }\n");
      expect(readFileSync(join(r, "name with spaces.txt"), "utf8")).toBe("spaces\n");
      const status = await run("zync-client", ["status", "--db", join(work, "client.db")], env, work).done;
      expect(status.code).toBe(0);
      expect(status.stdout).toContain("code");
    } finally {
      daemon.proc.kill("SIGTERM");
      await daemon.done;
    }
  });
});

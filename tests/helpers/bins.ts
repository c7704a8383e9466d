import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tempDir.js";
import { waitFor } from "./waitFor.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

/** Absolute paths of the real bins, as `npx` would run them. */
export const BIN = {
  daemon: `${repo}packages/daemon/bin/zync-daemon.js`,
  client: `${repo}packages/client/bin/zync-client.js`,
  apply: `${repo}packages/apply/bin/zync-apply.js`,
} as const;

/** A spawned process with its output collected as it arrives. */
export type Spawned = {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
};

/**
 * Spawns one of the bins with `node` (in `cwd` when given), collecting its output. `launcher` is a command that
 * runs `node` for it, given node and its arguments after its own (such as `unshare … sh -c '…; exec "$@"' sh`).
 */
export function spawnBin(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string, launcher: readonly string[] = []): Spawned {
  const argv = [...launcher, process.execPath, bin, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), {
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...process.env, NO_COLOR: "1", ZYNC_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on("close", (code, signal) => resolve(code ?? signal ?? -1)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Runs a bin to completion. */
export async function runBin(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const s = spawnBin(bin, args, env);
  const code = await s.exited;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

/** A daemon started on a free port, with its own database and token file. */
export type TestDaemon = Spawned & { url: string; port: number; db: string; tokenFile: string; stop(): Promise<void> };

/** Starts the real daemon with `--port 0` and waits for its `listening on` line. */
export async function startTestDaemon(dirs: readonly string[], opts: { db?: string; tokenFile?: string; args?: readonly string[]; launcher?: readonly string[] } = {}): Promise<TestDaemon> {
  const state = opts.db ? undefined : tempDir("zync-daemon-");
  const db = opts.db ?? `${state}/sync.db`;
  const tokenFile = opts.tokenFile ?? `${db}.token`;
  const s = spawnBin(BIN.daemon, ["--port", "0", "--db", db, "--token-file", tokenFile, "--dirs", ...dirs, ...(opts.args ?? [])], {}, undefined, opts.launcher);
  const line = await Promise.race([
    waitFor(() => /listening on (ws:\/\/\S+)/.exec(s.stdout()), "the daemon's listening line"),
    s.exited.then((code) => Promise.reject(new Error(`daemon exited ${code}: ${s.stderr()}`))),
  ]);
  const url = line[1]!;
  return {
    ...s,
    url,
    port: Number(new URL(url).port),
    db,
    tokenFile,
    stop: async () => {
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGTERM");
      await s.exited;
    },
  };
}

/** Runs `zync-client --once` against a daemon. */
export function runClientOnce(daemon: TestDaemon, db: string, dirs: readonly string[], extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}) {
  return runBin(BIN.client, ["--once", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", ...dirs, ...extra], env);
}

/** Starts a long-running client (live, reconnecting) against a daemon URL. */
export function startClient(url: string, tokenFile: string, db: string, dirs: readonly string[], extra: readonly string[] = []): Spawned & { stop(): Promise<void> } {
  const s = spawnBin(BIN.client, ["--server", url, "--token-file", tokenFile, "--db", db, "--dirs", ...dirs, ...extra]);
  return {
    ...s,
    stop: async () => {
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGTERM");
      await s.exited;
    },
  };
}

/** Writes a token file with a known token. */
export function writeToken(path: string, token: string): string {
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return path;
}

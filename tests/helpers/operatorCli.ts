import type { ClientStatus } from "@zync/client";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "@jest/globals";
import type { DaemonStatus } from "@zync/daemon";
import { BIN, runBin, spawnBin, type Spawned } from "./bins.js";
import { waitFor } from "./waitFor.js";

/** What one run of a bin printed and how it ended. */
export type BinRun = { code: number | string; stdout: string; stderr: string };

/** Spawns one of the bins with `node` in the working directory `cwd`, collecting its output. */
export function spawnBinIn(cwd: string, bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawnBin(bin, args, env, cwd);
}

/** Runs a bin to completion in the working directory `cwd`. */
export async function runBinIn(cwd: string, bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<BinRun> {
  const s = spawnBinIn(cwd, bin, args, env);
  const code = await s.exited;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

/** A daemon started in a chosen working directory (its flags may all come from a config file there). */
export type DaemonIn = Spawned & { url: string; stop(): Promise<void> };

/** Starts the real daemon in `cwd` with `args` and waits for its `listening on` line; kills it if it never gets there. */
export async function startDaemonIn(cwd: string, args: readonly string[]): Promise<DaemonIn> {
  const s = spawnBinIn(cwd, BIN.daemon, args);
  const stop = async (): Promise<void> => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGTERM");
    await s.exited;
  };
  try {
    const line = await Promise.race([
      waitFor(() => /listening on (ws:\/\/\S+)/.exec(s.stdout()), "the daemon's listening line"),
      s.exited.then((code) => Promise.reject(new Error(`daemon exited ${code}: ${s.stderr()}`))),
    ]);
    return { ...s, url: line[1]!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Parses stdout as JSON after checking that the run exited 0 and wrote nothing on stderr. */
export function jsonOf<T>(run: BinRun, what: string): T {
  if (run.code !== 0 || run.stderr !== "") throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout) as T;
}

/** `zync-client status --json` as printed: the product's own type. */
export type ClientStatusJson = ClientStatus;

/** One row of `zync-client log --json`. */
export type ClientRunJson = {
  id: number;
  kind: "pull" | "push";
  startedAt: number;
  endedAt?: number;
  files: number;
  deleted: number;
  bytes: number;
  conflicts: number;
  error?: string;
};

/** `zync-daemon status --json` as printed. */
export type DaemonStatusJson = DaemonStatus;

/** One row of `zync-daemon log --json`. */
export type ServedJson = {
  id: number;
  clientId?: string;
  address?: string;
  startedAt: number;
  endedAt?: number;
  changes: number;
  files: number;
  bytes: number;
  error?: string;
};

/** `zync-client status --json` with the given state and (optionally) a daemon to ask. */
export async function clientStatusJson(db: string, opts: { server?: string; tokenFile?: string; dirs?: readonly string[] } = {}): Promise<ClientStatusJson> {
  const args = ["status", "--json", "--db", db];
  if (opts.server !== undefined) args.push("--server", opts.server);
  if (opts.tokenFile !== undefined) args.push("--token-file", opts.tokenFile);
  if (opts.dirs !== undefined) args.push("--dirs", ...opts.dirs);
  return jsonOf<ClientStatusJson>(await runBin(BIN.client, args), "zync-client status --json");
}

/** `zync-client log --json`. */
export async function clientLogJson(db: string): Promise<ClientRunJson[]> {
  return jsonOf<ClientRunJson[]>(await runBin(BIN.client, ["log", "--json", "--db", db]), "zync-client log --json");
}

/** `zync-daemon status --json`. */
export async function daemonStatusJson(db: string): Promise<DaemonStatusJson> {
  return jsonOf<DaemonStatusJson>(await runBin(BIN.daemon, ["status", "--json", "--db", db]), "zync-daemon status --json");
}

/** `zync-daemon log --json`. */
export async function daemonLogJson(db: string): Promise<ServedJson[]> {
  return jsonOf<ServedJson[]>(await runBin(BIN.daemon, ["log", "--json", "--db", db]), "zync-daemon log --json");
}

/** Writes files (path → content), creating their folders. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(`${root}/${rel}`), { recursive: true });
    writeFileSync(`${root}/${rel}`, content);
  }
}

/** `count` small files named `${dir}/fNN.txt`, each with its own content. */
export function numberedFiles(dir: string, count: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) out[`${dir}/f${String(i).padStart(2, "0")}.txt`] = `file ${i} of ${dir}\n`;
  return out;
}

/** Asserts the shape of a refusal: the exit code, one line on stderr starting with the bin's name, no stack, nothing on stdout. */
export function expectOneSentence(run: BinRun, bin: string, code: number, mentions: RegExp): void {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: "" });
  expect(run.stderr).not.toContain("    at ");
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
  expect(run.stderr).toMatch(new RegExp(`^${bin}: \\S`));
  expect(run.stderr).toMatch(mentions);
}

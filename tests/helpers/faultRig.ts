import { lstatSync } from "node:fs";
import { expect } from "@jest/globals";
import { BIN, runBin, startClient, type Spawned, type TestDaemon } from "./bins.js";
import { freePort, startDaemonOnPort } from "./daemonProc.js";
import { tempDir } from "./tempDir.js";
import { snapshotTree } from "./treeSnapshot.js";
import { waitFor } from "./waitFor.js";

/**
 * One line per path where two trees differ by hash, type, link target or exec bit: `path: E=<what E holds>
 * R=<what R holds>`. Paths `leaveOut` matches are not compared (both trees are still walked in full).
 */
export function treeDiff(e: string, r: string, leaveOut: (rel: string) => boolean = () => false): string[] {
  const a = snapshotTree(e);
  const b = snapshotTree(r);
  const out: string[] = [];
  for (const p of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[p] !== b[p] && !leaveOut(p)) out.push(`${p}: E=${a[p] ?? "absent"} R=${b[p] ?? "absent"}`);
  }
  return out;
}

/**
 * Asserts `actual` equals `expected` with the seed in the compared object (so every failure shows it) and the
 * replay command plus `context()` (the last operations, the processes' output) appended to the message.
 */
export function expectSeeded(seed: number, what: string, actual: unknown, expected: unknown, context: () => string = () => ""): void {
  try {
    expect({ seed, what, actual }).toEqual({ seed, what, actual: expected });
  } catch (err) {
    if (err instanceof Error) err.message += `\n\nreplay with ZYNC_FAULT_SEED=${seed}\n${context()}`;
    throw err;
  }
}

/** Only the lines of `text` that matter for a diagnosis (warnings, errors, conflicts), at most `max`. */
export function notableLines(text: string, max = 40): string {
  const lines = text.split("\n").filter((l) => /warning|error|failed|conflict|cannot|refused|EN[A-Z]+/i.test(l));
  return lines.slice(-max).join("\n");
}

/** Files present on both sides with equal content whose mtimes differ by more than `toleranceMs`. */
export function mtimeDrift(e: string, r: string, toleranceMs: number): string[] {
  const a = snapshotTree(e);
  const b = snapshotTree(r);
  const out: string[] = [];
  for (const [p, desc] of Object.entries(a)) {
    if (!desc.startsWith("file ") || b[p] !== desc) continue;
    const me = lstatSync(`${e}/${p}`).mtimeMs;
    const mr = lstatSync(`${r}/${p}`).mtimeMs;
    if (Math.abs(me - mr) > toleranceMs) out.push(`${p}: E mtime ${new Date(me).toISOString()} R mtime ${new Date(mr).toISOString()}`);
  }
  return out;
}

/** The lines of `text` that report a conflict. */
export function conflictLines(text: string): string[] {
  return text.split("\n").filter((l) => l.includes("conflict:"));
}

/** The lines of `text` where a live pass gave up. */
export function failedPassLines(text: string): string[] {
  return text.split("\n").filter((l) => l.includes("sync failed"));
}

/**
 * Polls until R's tree equals E's by hash; returns the paths that still differ when `timeoutMs` passes
 * (empty once in step), so the caller can put them in its assertion.
 */
export async function waitForConvergence(e: string, r: string, timeoutMs: number, leaveOut?: (rel: string) => boolean): Promise<string[]> {
  try {
    await waitFor(() => treeDiff(e, r, leaveOut).length === 0, `${r} to equal ${e}`, timeoutMs, 100);
    return [];
  } catch {
    return treeDiff(e, r, leaveOut);
  }
}

/** What one run of a bin printed and how it ended. */
export type Run = { code: number | string; stdout: string; stderr: string };

type LiveClient = Spawned & { stop(): Promise<void> };

/**
 * E, R, a daemon on a fixed loopback port and a live client, each of which can be killed and started again on
 * the same databases. Every client's output is kept, so a test can check that none of them ever reported a
 * conflict.
 */
export class FaultRig {
  readonly name = "code";
  readonly db: string;
  readonly tokenFile: string;
  readonly clientDb: string;
  daemon: TestDaemon | undefined;
  client: LiveClient | undefined;
  /** Output of every client process that ended, with the live one's added by {@link clientOutput}. */
  private readonly past: string[] = [];
  /** Output of every daemon process that ended. */
  private readonly pastDaemon: string[] = [];

  readonly e: string;
  readonly r: string;
  readonly port: number;
  readonly daemonArgs: readonly string[];

  private constructor(e: string, r: string, port: number, daemonArgs: readonly string[]) {
    this.e = e;
    this.r = r;
    this.port = port;
    this.daemonArgs = daemonArgs;
    const state = tempDir("zync-fault-state-");
    this.db = `${state}/sync.db`;
    this.tokenFile = `${state}/token`;
    this.clientDb = `${tempDir("zync-fault-client-")}/client.db`;
  }

  /** A rig on `e` and `r` (fresh temp folders when not given), with a free port. */
  static async create(opts: { e?: string; r?: string; daemonArgs?: readonly string[] } = {}): Promise<FaultRig> {
    return new FaultRig(opts.e ?? tempDir("zync-fault-e-"), opts.r ?? `${tempDir("zync-fault-r-")}/code`, await freePort(), opts.daemonArgs ?? []);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private get dirsE(): string[] {
    return [`${this.name}:${this.e}`];
  }

  private get dirsR(): string[] {
    return [`${this.name}:${this.r}`];
  }

  async startDaemon(): Promise<void> {
    this.daemon = await startDaemonOnPort(this.port, this.dirsE, { db: this.db, tokenFile: this.tokenFile, args: this.daemonArgs });
  }

  async stopDaemon(): Promise<void> {
    const d = this.daemon;
    this.daemon = undefined;
    if (d === undefined) return;
    await d.stop();
    this.pastDaemon.push(d.stdout() + d.stderr());
  }

  async killDaemon(): Promise<void> {
    const d = this.daemon;
    this.daemon = undefined;
    if (d === undefined) return;
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill("SIGKILL");
    await d.exited;
    this.pastDaemon.push(d.stdout() + d.stderr());
  }

  startClient(extra: readonly string[] = []): LiveClient {
    this.client = startClient(this.url, this.tokenFile, this.clientDb, this.dirsR, extra);
    return this.client;
  }

  private async endClient(signal: NodeJS.Signals): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c === undefined) return;
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill(signal);
    await c.exited;
    this.past.push(c.stdout() + c.stderr());
  }

  stopClient(): Promise<void> {
    return this.endClient("SIGTERM");
  }

  killClient(): Promise<void> {
    return this.endClient("SIGKILL");
  }

  /** Everything every client process printed so far, the live one included. */
  clientOutput(): string {
    return [...this.past, this.client ? this.client.stdout() + this.client.stderr() : ""].join("\n");
  }

  /** Everything every daemon process printed so far, the live one included. */
  daemonOutput(): string {
    return [...this.pastDaemon, this.daemon ? this.daemon.stdout() + this.daemon.stderr() : ""].join("\n");
  }

  /** One `zync-client --once` run on R's database; its output is kept with the others. */
  async once(extra: readonly string[] = []): Promise<Run> {
    const run = await runBin(BIN.client, ["--once", "--server", this.url, "--token-file", this.tokenFile, "--db", this.clientDb, "--dirs", ...this.dirsR, ...extra]);
    this.past.push(run.stdout + run.stderr);
    return run;
  }

  /** The paths (relative to the root) that `--update-upstream --dry-run --json` would offer E. */
  async upstreamPreview(): Promise<string[]> {
    const run = await runBin(BIN.client, ["--update-upstream", "--dry-run", "--json", "--server", this.url, "--token-file", this.tokenFile, "--db", this.clientDb, "--dirs", ...this.dirsR]);
    if (run.code !== 0) throw new Error(`--update-upstream --dry-run exited ${run.code}: ${run.stderr}`);
    return (JSON.parse(run.stdout) as { changes: { path: string }[] }).changes.map((c) => c.path.slice(`${this.name}/`.length));
  }

  /** `zync-client status --json --db` (the local view: cursors and open conflicts). */
  async clientConflicts(): Promise<string[]> {
    const run = await runBin(BIN.client, ["status", "--json", "--db", this.clientDb]);
    if (run.code !== 0) throw new Error(`zync-client status exited ${run.code}: ${run.stderr}`);
    const status = JSON.parse(run.stdout) as { conflicts: { root: string; path: string }[] };
    return status.conflicts.map((c) => `${c.root}/${c.path}`);
  }

  async close(): Promise<void> {
    await this.stopClient();
    await this.stopDaemon();
  }
}

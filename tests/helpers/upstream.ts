import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "@jest/globals";
import type { SessionRow } from "@zync/apply";
import { BIN, runBin, runClientOnce, startTestDaemon, type TestDaemon } from "./bins.js";
import { waitForDaemonToRecord } from "./rawSocket.js";
import { tempDir } from "./tempDir.js";
import { snapshotTree } from "./treeSnapshot.js";

/** What one run of a bin printed and how it ended. */
export type BinResult = Awaited<ReturnType<typeof runBin>>;

/** A session as `zync-apply list --json` prints it. */
export type ListedSession = SessionRow;

/** One change as `zync-apply show --json` prints it. */
export type ShownChange = {
  path: string;
  kind: string;
  type: string;
  size: number;
  conflict: boolean;
  outcome: string;
  reason: string | null;
  /** Whether a pending conflict can be merged (clean, overlap, or unavailable with a reason); null for no conflict. */
  merge: { kind: "clean" } | { kind: "overlap"; overlaps: number } | { kind: "unavailable"; reason: string } | null;
  /** Where E's previous version of the file the change overwrote or deleted is kept, or null. */
  kept: string | null;
};

/** A session as `zync-apply show --json` prints it. */
export type ShownSession = { id: number; status: string; root: string; client: string; created: string; changes: ShownChange[] };

/** Runs `zync-apply --db DB ...args`. */
export function zyncApply(db: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return runBin(BIN.apply, ["--db", db, ...args], env);
}

/** Parses stdout as JSON after checking the run succeeded quietly. */
function jsonOf<T>(run: BinResult, what: string): T {
  if (run.code !== 0 || run.stderr !== "") throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout) as T;
}

/** `zync-apply list --all --json` (or without --all when `all` is false). */
export async function listSessions(db: string, all = true): Promise<ListedSession[]> {
  return jsonOf<ListedSession[]>(await zyncApply(db, ["list", ...(all ? ["--all"] : []), "--json"]), "zync-apply list");
}

/** `zync-apply show ID --json`. */
export async function showSession(db: string, id: number): Promise<ShownSession> {
  return jsonOf<ShownSession>(await zyncApply(db, ["show", String(id), "--json"]), `zync-apply show ${id}`);
}

/** path → outcome of every change of a session. */
export async function outcomes(db: string, id: number): Promise<Record<string, string>> {
  const shown = await showSession(db, id);
  return Object.fromEntries(shown.changes.map((c) => [c.path, c.outcome]));
}

/** Runs `zync-client --update-upstream` against a daemon. */
export function pushUpstream(daemon: TestDaemon, clientDb: string, dirs: readonly string[], extra: readonly string[] = []): Promise<BinResult> {
  return runBin(BIN.client, ["--update-upstream", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", ...dirs, ...extra]);
}

/** The session number a successful `--update-upstream` run printed for a freshly staged session. */
export function stagedSessionId(run: BinResult): number {
  const m = /staged session (\d+) on E/.exec(run.stdout);
  if (!m) throw new Error(`no 'staged session N' in the client's output (exit ${run.code}):\n${run.stdout}${run.stderr}`);
  return Number(m[1]);
}

/** Writes files (path → content), creating their folders. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(`${root}/${rel}`), { recursive: true });
    writeFileSync(`${root}/${rel}`, content);
  }
}

/** E and R after a first `--once` sync, with the daemon still running on E, all for the root `code`. */
export type UpstreamPair = {
  e: string;
  r: string;
  daemon: TestDaemon;
  /** The daemon's database (zync-apply's --db). */
  db: string;
  /** R's client database. */
  clientDb: string;
  /** One `--once` run with R's client database. */
  once(extra?: readonly string[]): Promise<BinResult>;
  /** One `--update-upstream` run with R's client database. */
  push(extra?: readonly string[]): Promise<BinResult>;
  /** `--update-upstream`, asserted to succeed quietly and stage a fresh session; returns its id. */
  pushSession(): Promise<number>;
  /** `zync-apply --db <daemon's db> ...args`. */
  apply(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<BinResult>;
  /** Waits until the daemon has recorded E as it is now, so that R's next pull sees every change made there. */
  daemonCaughtUp(): Promise<void>;
};

/** Creates E with `files`, starts the daemon, pulls once into R (asserting R equals E), runs `body`, stops the daemon. */
export async function withUpstreamPair(files: Record<string, string>, body: (p: UpstreamPair) => Promise<void>): Promise<void> {
  const e = tempDir("zync-e-");
  const r = `${tempDir("zync-r-")}/code`;
  writeFiles(e, files);
  const daemon = await startTestDaemon([`code:${e}`]);
  try {
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    const once = (extra: readonly string[] = []): Promise<BinResult> => runClientOnce(daemon, clientDb, [`code:${r}`], extra);
    const push = (extra: readonly string[] = []): Promise<BinResult> => pushUpstream(daemon, clientDb, [`code:${r}`], extra);
    const first = await once();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(snapshotTree(r)).toEqual(snapshotTree(e));
    await body({
      e,
      r,
      daemon,
      db: daemon.db,
      clientDb,
      once,
      push,
      pushSession: async () => {
        const run = await push();
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        return stagedSessionId(run);
      },
      apply: (args, env) => zyncApply(daemon.db, args, env),
      daemonCaughtUp: () => waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e),
    });
  } finally {
    await daemon.stop();
  }
}

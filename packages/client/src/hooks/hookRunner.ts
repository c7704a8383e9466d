/**
 * Runs the `--on-change` hooks after each pass: one command per rule and root that the pass concerned, with the
 * root's folder as the working directory and the changed paths in a list file. A pass never waits for a hook;
 * while a rule's command runs for a root, later passes' paths for it are gathered and run once it ends (at most
 * one process per rule and root, coalescing).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { escapeControl, TOKEN_ENV, type Logger } from "@zync/node";
import type { ClientEvents } from "../events.js";
import { matchingPaths, type ChangedPath, type HookRule } from "./hookRule.js";

/** How one hook run ended, as the history keeps it. */
export type HookResult = {
  rule: string;
  root: string;
  files: number;
  startedAt: number;
  endedAt: number;
  /** The exit status, or null when a signal ended it or it could not start. */
  status: number | null;
  signal: string | null;
  /** Why it could not start, when it could not. */
  error?: string;
};

/** What the runner needs besides its rules. */
export type HookEnvironment = {
  /** Root name to its folder on R. */
  roots: ReadonlyMap<string, string>;
  logger: Logger;
  events: ClientEvents;
  /** One line the command printed (already prefixed and escaped), on the stream it used. */
  output(stream: "stdout" | "stderr", line: string): void;
  /** Records a finished run in the client's history. */
  record(result: HookResult): void;
  /** The shell that runs the command with `-c` (the user's `/bin/sh` unless a test says otherwise). */
  shell?: string;
};

/** The environment variables a hook's command is given, besides the client's own. */
export const HOOK_ENV = {
  /** A file listing the changed paths that matched, relative to the root, each followed by a NUL byte. */
  changedFile: "ZYNC_CHANGED_FILE",
  /** How many paths that file lists. */
  changedCount: "ZYNC_CHANGED_COUNT",
  /** The root's folder on R (also the working directory). */
  root: "ZYNC_ROOT",
  /** The root's name, as in --dirs. */
  rootName: "ZYNC_ROOT_NAME",
} as const;

type Slot = { rule: HookRule; root: string; pending: Set<string>; running: Promise<void> | undefined; kill: (() => void) | undefined };

export class HookRunner {
  private readonly slots = new Map<string, Slot>();
  private readonly rules: readonly HookRule[];
  private readonly env: HookEnvironment;
  private stopped = false;
  private deferred: ChangedPath[] = [];

  constructor(rules: readonly HookRule[], env: HookEnvironment) {
    this.rules = rules;
    this.env = env;
  }

  /**
   * Holds back the paths a pass that failed had placed: they are on disk, but the pass did not land whole, so
   * their hooks run after the next pass that does.
   */
  defer(changed: readonly ChangedPath[]): void {
    this.deferred.push(...changed);
  }

  /** Schedules the hooks a pass's changed paths (and those held back) concern; returns at once. */
  afterPass(passChanged: readonly ChangedPath[]): void {
    const changed = [...this.deferred, ...passChanged];
    this.deferred = [];
    if (this.stopped || changed.length === 0) return;
    for (const rule of this.rules) {
      for (const [root, paths] of matchingPaths(rule, changed)) {
        const key = `${rule.text}\u0000${root}`;
        let slot = this.slots.get(key);
        if (slot === undefined) this.slots.set(key, (slot = { rule, root, pending: new Set(), running: undefined, kill: undefined }));
        for (const p of paths) slot.pending.add(p);
        if (slot.running === undefined) slot.running = this.drain(slot);
      }
    }
  }

  /** Resolves once no hook runs or waits to run. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.slots.values()].flatMap((s) => (s.running ? [s.running] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Runs nothing more, ends the commands running now (SIGTERM to their process group) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.slots.values()) {
      s.pending.clear();
      s.kill?.();
    }
    await this.idle();
  }

  private async drain(slot: Slot): Promise<void> {
    try {
      while (slot.pending.size > 0 && !this.stopped) {
        const paths = [...slot.pending];
        slot.pending.clear();
        await this.runOnce(slot, paths);
      }
    } finally {
      slot.running = undefined;
    }
  }

  private async runOnce(slot: Slot, paths: readonly string[]): Promise<void> {
    const { rule, root } = slot;
    const { logger, events } = this.env;
    const abs = this.env.roots.get(root);
    if (abs === undefined) return;
    const label = `hook ${rule.pattern}`;
    const startedAt = Date.now();
    let dir: string | undefined;
    let result: HookResult;
    try {
      dir = await mkdtemp(join(tmpdir(), "zync-hook-"));
      const listFile = join(dir, "changed");
      await writeFile(listFile, paths.map((p) => `${p}\u0000`).join(""), { mode: 0o600 });
      events({ event: "hook-started", rule: rule.text, root, files: paths.length });
      logger.verbose(`${label}: running ${JSON.stringify(rule.command)} in ${abs} for ${paths.length} changed file(s)`);
      // The client's environment without its token: the command has no business with the daemon.
      const inherited = { ...process.env };
      delete inherited[TOKEN_ENV];
      const ended = await new Promise<{ status: number | null; signal: string | null; error?: string }>((resolve) => {
        const child = spawn(this.env.shell ?? "/bin/sh", ["-c", rule.command], {
          cwd: abs,
          env: { ...inherited, [HOOK_ENV.changedFile]: listFile, [HOOK_ENV.changedCount]: String(paths.length), [HOOK_ENV.root]: abs, [HOOK_ENV.rootName]: root },
          stdio: ["ignore", "pipe", "pipe"],
          // Its own process group, so stopping the client ends whatever the command started too.
          detached: true,
        });
        slot.kill = () => {
          if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
            try {
              process.kill(-child.pid, "SIGTERM");
            } catch {
              // already gone
            }
          }
        };
        for (const stream of ["stdout", "stderr"] as const) {
          createInterface({ input: child[stream], crlfDelay: Infinity }).on("line", (line) => this.env.output(stream, `${label}: ${escapeControl(line)}`));
        }
        child.on("error", (err) => resolve({ status: null, signal: null, error: err.message }));
        child.on("close", (status, signal) => resolve({ status, signal }));
      });
      result = { rule: rule.text, root, files: paths.length, startedAt, endedAt: Date.now(), ...ended };
    } catch (err) {
      result = { rule: rule.text, root, files: paths.length, startedAt, endedAt: Date.now(), status: null, signal: null, error: err instanceof Error ? err.message : String(err) };
    } finally {
      slot.kill = undefined;
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    const secs = ((result.endedAt - result.startedAt) / 1000).toFixed(1);
    if (result.error !== undefined) logger.warn(`${label} could not run in ${root}: ${result.error}`);
    else if (result.status === 0) logger.info(`${label} ran for ${paths.length} changed file(s) in ${root}: ok (${secs} s)`);
    else logger.warn(`${label} ran for ${paths.length} changed file(s) in ${root}: ${hookOutcome(result)} (${secs} s); the client goes on`);
    events({ event: "hook-finished", rule: rule.text, root, files: paths.length, status: result.status, signal: result.signal, ms: result.endedAt - result.startedAt });
    try {
      this.env.record(result);
    } catch (err) {
      logger.warn(`${label}: its run could not be recorded in the history: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** How a hook run ended, in a few words ("ok", "exit status 3", "ended by SIGTERM"). */
export function hookOutcome(r: Pick<HookResult, "status" | "signal" | "error">): string {
  if (r.error !== undefined) return `could not run: ${r.error}`;
  if (r.signal !== null) return `ended by ${r.signal}`;
  return r.status === 0 ? "ok" : `exit status ${r.status}`;
}

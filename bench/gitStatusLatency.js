// What a git work tree costs the live path: a save on E until a running client on R has it, alone and followed at
// once by `git status` (which takes `.git/index.lock` for a moment, as editors' git integrations and shell prompts
// do after a save), in the same run. While git holds the lock the daemon holds the root's recording (feature git),
// so this is the delay a brief lock adds to a save. One daemon on a small git repository, one live client, on
// loopback; the two kinds of save alternate. Run alone: `node bench/gitStatusLatency.js [--quick]`.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, readIfExists, startTracked, until } from "./measure.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = { daemon: join(repo, "packages/daemon/bin/zync-daemon.js"), client: join(repo, "packages/client/bin/zync-client.js") };

const git = (cwd, ...args) => execFileSync("git", ["-c", "user.email=bench@zync", "-c", "user.name=bench", ...args], { cwd, stdio: "ignore" });

/** Runs the comparison; returns p50/p90/p99 of both kinds of save, keyed by case name. */
export async function runGitStatusLatency({ quick = false, log = (m) => process.stderr.write(`bench: ${m}\n`) } = {}) {
  const saves = quick ? 20 : 60;
  const work = mkdtempSync(join(tmpdir(), "zync-gitstatus-bench-"));
  const cleanups = [];
  try {
    const E = join(work, "E");
    const R = join(work, "R");
    mkdirSync(join(E, "src"), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(E, "src", `m${i}.txt`), `module ${i}\n`.repeat(50));
    git(E, "init", "-q");
    git(E, "add", ".");
    git(E, "commit", "-qm", "start");
    const db = join(work, "s.db");
    const daemon = startTracked(process.execPath, [BIN.daemon, "--port", "0", "--db", db, "--dirs", `code:${E}`], cleanups);
    await until(() => /listening on \S+:(\d+)/.test(daemon.output()) || daemon.child.exitCode !== null, "the daemon to listen", 120_000, 20);
    if (daemon.child.exitCode !== null) throw new Error(`the daemon exited: ${daemon.output()}`);
    const port = Number(/listening on \S+:(\d+)/.exec(daemon.output())[1]);
    const client = startTracked(process.execPath, [BIN.client, "--server", `ws://127.0.0.1:${port}`, "--token-file", `${db}.token`, "--db", join(work, "c.db"), "--interval", "3600", "--dirs", `code:${R}`], cleanups);
    await until(() => readIfExists(join(R, "src", "m199.txt")) !== undefined, "the initial sync", 120_000, 10);
    const times = { plain: [], status: [] };
    for (let i = 0; i < 2 * saves; i++) {
      const kind = i % 2 === 0 ? "plain" : "status";
      const text = `save ${i} ${Date.now()}\n`;
      const t0 = performance.now();
      writeFileSync(join(E, "src", "m0.txt"), text);
      if (kind === "status") git(E, "status", "--porcelain");
      await until(() => readIfExists(join(R, "src", "m0.txt")) === text, `save ${i}`, 30_000, 1);
      times[kind].push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.stop();
    await daemon.stop();
    const row = (ms) => ({ p50Ms: percentile(ms, 50), p90Ms: percentile(ms, 90), p99Ms: percentile(ms, 99), samplesMs: ms });
    const out = { [`live save in a git work tree (${saves} saves)`]: row(times.plain), [`live save followed by git status (${saves} saves)`]: row(times.status) };
    for (const [name, r] of Object.entries(out)) log(`${name}: p50 ${r.p50Ms.toFixed(1)} ms, p90 ${r.p90Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`);
    return out;
  } finally {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runGitStatusLatency({ quick: process.argv.includes("--quick") });
}

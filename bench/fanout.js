// The fan-out case of `npm run bench`: one daemon serving many clients at once, on loopback (no tunnel).
// Initial `--once` of N clients at the same time against one client alone, then the latency of a save on E until
// every live client holds it (p50/p99 over every client and save, and of the slowest client per save), and how
// many times the daemon read a file from disk per file it served (from its own count, printed at shutdown).
// Run alone with `node bench/fanout.js [--quick]`; bench/run.js runs it after its own cases.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile, readIfExists, timed, until } from "./measure.js";
import { generateTree } from "./tree.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = {
  daemon: join(repo, "packages/daemon/bin/zync-daemon.js"),
  client: join(repo, "packages/client/bin/zync-client.js"),
};
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** CPU seconds a process has used so far (user + system), from /proc; undefined where that is not available. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // Fields 14 and 15 of the whole line (utime, stime) in clock ticks, almost always 100 per second.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}


/**
 * Runs the fan-out case and returns its figures: `clients` at once (20 unless told), a tree of `files` small
 * files, `saves` live saves.
 */
export async function runFanout({ clients = 20, files = 2000, saves = 20 } = {}) {
  const work = mkdtempSync(join(tmpdir(), "zync-fanout-"));
  const procs = [];
  const start = (args) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ZYNC_TOKEN: "" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const p = {
      child,
      output: () => out,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once("close", r));
          child.kill("SIGTERM");
          await gone;
        }
      },
    };
    procs.push(p);
    return p;
  };
  try {
    const E = join(work, "E");
    log(`fan-out: ${files} files, ${clients} clients`);
    generateTree(E, { files, binaries: 0 });
    const db = join(work, "sync.db");
    const token = `${db}.token`;
    const port = await freePort();
    const daemon = start([BIN.daemon, "--port", String(port), "--db", db, "--verbose", "--dirs", `src:${E}`]);
    await until(() => daemon.output().includes("listening on") || daemon.child.exitCode !== null, "the daemon to listen", 600_000);
    const url = `ws://127.0.0.1:${port}`;
    const R = (i) => join(work, `R-${i}`);
    const cdb = (i) => join(work, `client-${i}.db`);
    const once = (i) =>
      timed(process.execPath, [BIN.client, "--once", "--quiet", "--server", url, "--token-file", token, "--db", cdb(i), "--dirs", `src:${R(i)}`], {
        env: { ...process.env, ZYNC_TOKEN: "" },
      });
    const check = (res, what) => {
      if (res.code !== 0) throw new Error(`${what} exited ${res.code}: ${res.stderr.trim().split("\n").slice(-3).join(" | ")}`);
      return res.ms;
    };

    const cpu0 = cpuSeconds(daemon.child.pid);
    const loneMs = check(await once("lone"), "the lone client");
    const cpu1 = cpuSeconds(daemon.child.pid);
    const t0 = performance.now();
    const each = await Promise.all(Array.from({ length: clients }, (_, i) => once(i).then((res) => check(res, `client ${i}`))));
    const allMs = performance.now() - t0;
    const cpu2 = cpuSeconds(daemon.child.pid);
    // Where E's CPU is not the limit, the daemon's CPU per client stays near that of a lone client.
    const daemonCpu = cpu0 === undefined ? undefined : { loneS: cpu1 - cpu0, allS: cpu2 - cpu1, perClientS: (cpu2 - cpu1) / clients };
    if (daemonCpu) log(`fan-out daemon CPU: ${daemonCpu.loneS.toFixed(2)} s for the lone client, ${daemonCpu.allS.toFixed(2)} s for ${clients} (${daemonCpu.perClientS.toFixed(2)} s each)`);
    log(`fan-out initial: alone ${(loneMs / 1000).toFixed(2)} s; ${clients} at once: median ${(median(each) / 1000).toFixed(2)} s, slowest ${(Math.max(...each) / 1000).toFixed(2)} s`);

    // Live: one client alone first, then all of them.
    const liveRun = async (ids) => {
      const lives = ids.map((i) => start([BIN.client, "--server", url, "--token-file", token, "--db", cdb(i), "--interval", "3600", "--dirs", `src:${R(i)}`]));
      await until(() => lives.every((l) => l.output().includes("connected")), "the live clients", 60_000, 20);
      mkdirSync(join(E, "fanout-live"), { recursive: true });
      const perClient = [];
      const slowest = [];
      const tag = ids.length === 1 ? "lone" : "all";
      // A first save brings the folder to every client before anything is timed.
      for (let s = -1; s < saves; s++) {
        const rel = join("fanout-live", `${tag}_${s}.txt`);
        const text = `save ${s} ${Date.now()}\n`;
        const begin = performance.now();
        writeFileSync(join(E, rel), text);
        const got = new Map();
        await until(
          () => {
            for (const i of ids) if (!got.has(i) && readIfExists(join(R(i), rel)) === text) got.set(i, performance.now() - begin);
            return got.size === ids.length;
          },
          `save ${s} on every live client`,
          60_000,
          1,
        );
        if (s < 0) continue;
        perClient.push(...got.values());
        slowest.push(Math.max(...got.values()));
      }
      await Promise.all(lives.map((l) => l.stop()));
      return { p50Ms: percentile(perClient, 50), p99Ms: percentile(perClient, 99), slowestP50Ms: percentile(slowest, 50), slowestP99Ms: percentile(slowest, 99) };
    };
    const lone = await liveRun(["lone"]);
    log(`fan-out live, one client: p50 ${lone.p50Ms.toFixed(0)} ms, p99 ${lone.p99Ms.toFixed(0)} ms`);
    const all = await liveRun(Array.from({ length: clients }, (_, i) => i));
    log(`fan-out live, ${clients} clients: p50 ${all.p50Ms.toFixed(0)} ms, p99 ${all.p99Ms.toFixed(0)} ms; last client per save p99 ${all.slowestP99Ms.toFixed(0)} ms`);

    await daemon.stop();
    // The daemon says at shutdown how many files it served and how many reads of the disk that took.
    const m = /served (\d+) file\(s\) from (\d+) read\(s\)/.exec(daemon.output());
    const served = m ? Number(m[1]) : undefined;
    const reads = m ? Number(m[2]) : undefined;
    const readsPerFile = served ? reads / served : undefined;
    log(`fan-out daemon reads per served file: ${readsPerFile === undefined ? "not reported by this daemon" : readsPerFile.toFixed(3)}`);
    return {
      clients,
      files,
      loneInitialMs: loneMs,
      initialMedianMs: median(each),
      initialSlowestMs: Math.max(...each),
      initialAllMs: allMs,
      slowestVsLone: Math.max(...each) / loneMs,
      daemonCpu,
      liveLone: lone,
      liveAll: all,
      served,
      reads,
      readsPerFile,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  const res = await runFanout(quick ? { clients: 20, files: 500, saves: 10 } : {});
  process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
}

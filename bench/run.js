// npm run bench: zync against rsync -a over ssh, in one run, on this machine.
// rsync runs over ssh to a private OpenSSH server on 127.0.0.1; zync's client reaches its daemon through an
// `ssh -R` tunnel into the same server, as users run it. Prints a table of medians and writes JSON.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { ensureSshTools, freeLoopbackPort, startLoopbackSshd } from "../tests/dist/helpers/loopbackSsh.js";
import { median, peakKb, percentile, readIfExists, saveLatencies, startTracked, timed, until } from "./measure.js";
import { syncthingCases, syncthingRows } from "./syncthing.js";
import { editFiles, generateTree, prng, randomBytes } from "./tree.js";
import { printWanTable, runWan, wanLinkFromArgs } from "./wan.js";
import { runDeltaCases } from "./deltaCases.js";
import { runFanout } from "./fanout.js";
import { runVersionsCost } from "./versionsCost.js";
import { runGitStatusLatency } from "./gitStatusLatency.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = {
  daemon: join(repo, "packages/daemon/bin/zync-daemon.js"),
  client: join(repo, "packages/client/bin/zync-client.js"),
};
const quick = process.argv.includes("--quick");
// --wan: only the WAN cases (bench/wan.js); --no-wan: only the loopback ones; by default both.
const wanOnly = process.argv.includes("--wan");
const withWan = wanOnly || !process.argv.includes("--no-wan");
const RUNS = Number(process.env.ZYNC_BENCH_RUNS ?? (quick ? 1 : 3));
const FILES = quick ? 1000 : 10_000;
const BIG_BYTES = (quick ? 64 : 1024) * 1024 * 1024;
const SCALE_FILES = quick ? 10_000 : 100_000;
const LATENCY_SAMPLES = 20;

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

const work = mkdtempSync(join(tmpdir(), "zync-bench-"));
const cleanups = [];
const results = { date: new Date().toISOString(), quick, runs: RUNS, cases: {} };

function startProcess(cmd, args, env = {}) {
  return startTracked(cmd, args, cleanups, { ZYNC_TOKEN: "", ...env });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts a daemon and resolves with it once its `listening on` line appears, timing the start. */
async function startDaemon(db, dirs, port, extra = []) {
  const t0 = performance.now();
  const d = startProcess(process.execPath, [BIN.daemon, "--port", String(port), "--db", db, "--verbose", "--dirs", ...dirs, ...extra]);
  await until(() => d.output().includes("listening on") || d.child.exitCode !== null, "the daemon to listen", 600_000);
  if (d.child.exitCode !== null) throw new Error(`daemon exited: ${d.output()}`);
  return { ...d, startMs: performance.now() - t0 };
}

/** Runs `zync-client --once` for one root. */
function zyncOnce(url, tokenFile, db, root, dst, extra = []) {
  return timed(process.execPath, [BIN.client, "--once", "--quiet", "--server", url, "--token-file", tokenFile, "--db", db, "--dirs", `${root}:${dst}`, ...extra], {
    env: { ...process.env, ZYNC_TOKEN: "" },
  });
}

function headOf(db) {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(conn.prepare("SELECT value FROM meta WHERE key = 'head'").get()?.value ?? 0);
  } finally {
    conn.close();
  }
}

function check(res, what) {
  if (res.code !== 0) throw new Error(`${what} exited ${res.code}: ${res.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return res;
}

/** Runs rsync and zync in turn `RUNS` times; `prepare(i)` runs before each pair. Returns median wall times. */
async function pair(name, rsyncRun, zyncRun, prepare = async () => undefined) {
  const r = [];
  const z = [];
  for (let i = 0; i < RUNS; i++) {
    await prepare(i);
    // Alternate which goes first, so neither always meets a warmer cache.
    if (i % 2 === 0) {
      if (rsyncRun) r.push(check(await rsyncRun(i), `rsync (${name})`).ms);
      z.push(check(await zyncRun(i), `zync (${name})`).ms);
    } else {
      z.push(check(await zyncRun(i), `zync (${name})`).ms);
      if (rsyncRun) r.push(check(await rsyncRun(i), `rsync (${name})`).ms);
    }
  }
  const out = { zyncMs: median(z), zyncRunsMs: z };
  if (r.length) Object.assign(out, { rsyncMs: median(r), rsyncRunsMs: r, ratio: median(z) / median(r) });
  results.cases[name] = out;
  log(`${name}: zync ${secs(out.zyncMs)}${out.rsyncMs ? `, rsync ${secs(out.rsyncMs)}, ratio ${out.ratio.toFixed(2)}` : ""}`);
  return out;
}

/** Pushes `bytes` through a port and resolves with the throughput in bytes per second, as seen by the sink. */
async function rawThroughput(sinkPort, sendPort, bytes) {
  let received = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const sink = createServer((sock) => {
    sock.on("data", (d) => {
      received += d.length;
      if (received >= bytes) done();
    });
  });
  await new Promise((r) => sink.listen(sinkPort, "127.0.0.1", r));
  const chunk = randomBytes(prng(7), 1024 * 1024);
  const t0 = performance.now();
  const sock = createConnection({ host: "127.0.0.1", port: sendPort });
  await new Promise((r) => sock.once("connect", r));
  let sent = 0;
  while (sent < bytes) {
    const ok = sock.write(chunk);
    sent += chunk.length;
    if (!ok) await new Promise((r) => sock.once("drain", r));
  }
  await finished;
  const ms = performance.now() - t0;
  sock.destroy();
  await new Promise((r) => sink.close(r));
  return (bytes / ms) * 1000;
}

async function main() {
  log(`working in ${work}${quick ? " (quick mode: smaller sizes)" : ""}`);
  const why = ensureSshTools(log);
  const ssh = why === undefined ? await startLoopbackSshd() : undefined;
  if (ssh) cleanups.push(() => ssh.stop());
  else log(`no OpenSSH server: ${why}; comparing zync with rsync on the local disk instead, without a tunnel`);
  const sshE = ssh ? ["ssh", ...ssh.sshOptions].join(" ") : undefined;
  const rsyncTo = (src, dst) => (ssh ? ["-a", "--delete", "-e", sshE, `${src}/`, `${ssh.target}:${dst}/`] : ["-a", "--delete", `${src}/`, `${dst}/`]);
  const rsync = (src, dst) => timed("rsync", rsyncTo(src, dst));
  results.transport = ssh ? "rsync over ssh to a loopback sshd; zync through ssh -R into the same sshd" : "local rsync; zync over loopback";

  // The trees.
  const E = join(work, "E");
  const BIG = join(work, "BIG");
  log(`generating ${FILES} source files and 20 binaries of 5 MB (seed 42)`);
  const paths = generateTree(E, { files: FILES, binaries: 20 });
  mkdirSync(BIG);
  {
    const rand = prng(9);
    const block = randomBytes(rand, 8 * 1024 * 1024);
    for (let off = 0; off < BIG_BYTES; off += block.length) appendFileSync(join(BIG, "big.bin"), block.subarray(0, Math.min(block.length, BIG_BYTES - off)));
  }

  // The daemon on E, and the tunnel R uses to reach it.
  const daemonPort = await freeLoopbackPort();
  const db = join(work, "sync.db");
  const daemon = await startDaemon(db, [`src:${E}`, `big:${BIG}`], daemonPort);
  results.cases["daemon first start (index the trees)"] = { zyncMs: daemon.startMs };
  let url = `ws://127.0.0.1:${daemonPort}`;
  if (ssh) {
    const tunnelPort = await freeLoopbackPort();
    startProcess("ssh", ["-N", "-o", "ExitOnForwardFailure=yes", "-R", `${tunnelPort}:127.0.0.1:${daemonPort}`, ...ssh.sshOptions, ssh.target]);
    await until(() => canConnect(tunnelPort), "the tunnel", 20_000, 50);
    url = `ws://127.0.0.1:${tunnelPort}`;
  }
  const token = `${db}.token`;
  const R = (name) => join(work, `R-${name}`);
  const zdb = (name) => join(work, `client-${name}.db`);
  const fresh = (p) => rmSync(p, { recursive: true, force: true });

  // 1. Initial sync into an empty folder.
  await pair(
    `initial sync, ${FILES.toLocaleString("en")} files + 100 MB`,
    () => rsync(E, R("rsync")),
    () => zyncOnce(url, token, zdb("src"), "src", R("zync")),
    async () => {
      for (const p of [R("rsync"), R("zync"), zdb("src"), `${zdb("src")}-wal`, `${zdb("src")}-shm`]) fresh(p);
      mkdirSync(R("rsync"));
    },
  );
  // 1b. The same without the flushes that make each page durable: what durability costs.
  const initialName = `initial sync, ${FILES.toLocaleString("en")} files + 100 MB`;
  const unflushed = await pair(
    "initial sync without flushes (--no-fsync)",
    undefined,
    () => zyncOnce(url, token, zdb("nofsync"), "src", R("nofsync"), ["--no-fsync"]),
    async () => {
      for (const p of [R("nofsync"), zdb("nofsync"), `${zdb("nofsync")}-wal`, `${zdb("nofsync")}-shm`]) fresh(p);
    },
  );
  unflushed.durabilityCost = results.cases[initialName].zyncMs / unflushed.zyncMs - 1;
  // 2. A no-op sync.
  await pair("no-op sync", () => rsync(E, R("rsync")), () => zyncOnce(url, token, zdb("src"), "src", R("zync")));
  // 3. 100 edited files.
  await pair(
    "100 edited files",
    () => rsync(E, R("rsync")),
    () => zyncOnce(url, token, zdb("src"), "src", R("zync")),
    async (i) => {
      const before = headOf(db);
      editFiles(E, paths, 100, 1000 + i);
      // The daemon indexes edits as they happen; the timed pull starts once they are recorded.
      await until(() => headOf(db) >= before + 100, "the daemon to record 100 edits", 60_000, 20);
    },
  );
  // 4. One large file, with peak memory on both sides.
  const big = await pair(
    `one ${BIG_BYTES / 1024 / 1024} MiB file`,
    () => rsync(BIG, R("rsync-big")),
    async (i) => {
      const res = await zyncOnce(url, token, zdb(`big${i}`), "big", R(`zync-big${i}`));
      (results.clientPeakKb ??= []).push(res.peakKb);
      return res;
    },
    async () => {
      fresh(R("rsync-big"));
      mkdirSync(R("rsync-big"));
      for (let i = 0; i < RUNS; i++) fresh(R(`zync-big${i}`));
    },
  );
  results.daemonPeakKb = peakKb(daemon.child.pid);
  big.zyncMBps = BIG_BYTES / 1024 / 1024 / (big.zyncMs / 1000);
  if (ssh) {
    const sinkPort = await freeLoopbackPort();
    const rawPort = await freeLoopbackPort();
    startProcess("ssh", ["-N", "-o", "ExitOnForwardFailure=yes", "-R", `${rawPort}:127.0.0.1:${sinkPort}`, ...ssh.sshOptions, ssh.target]);
    await until(() => canConnect(rawPort), "the raw tunnel", 20_000, 50);
    big.rawTunnelMBps = (await rawThroughput(sinkPort, rawPort, BIG_BYTES)) / 1024 / 1024;
    big.ofRawTunnel = big.zyncMBps / big.rawTunnelMBps;
    log(`raw tunnel ${big.rawTunnelMBps.toFixed(0)} MB/s; zync ${big.zyncMBps.toFixed(0)} MB/s (${(big.ofRawTunnel * 100).toFixed(0)}%)`);
  }

  // 4b. Delta transfer: a changed block in a big file, and an appended log (their own daemon, bytes counted at a proxy).
  Object.assign(results.cases, await runDeltaCases({ quick, log }));

  // 5. Live latency with a running client.
  const live = startProcess(process.execPath, [BIN.client, "--server", url, "--token-file", token, "--db", zdb("src"), "--interval", "3600", "--dirs", `src:${R("zync")}`]);
  await until(() => live.output().includes("connected"), "the live client", 30_000, 20);
  mkdirSync(join(E, "live"), { recursive: true });
  await until(() => readIfExists(join(R("zync"), "live")) !== undefined || isDir(join(R("zync"), "live")), "the live folder", 30_000, 5);
  const lat = await saveLatencies(E, R("zync"), "live", LATENCY_SAMPLES, 30_000);
  await live.stop();
  results.cases["live latency (20 saves)"] = { p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), samplesMs: lat };
  log(`live latency p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms`);
  await daemon.stop();

  // 5a. The same with E's version store on and off, in the same run (bench/versionsCost.js).
  Object.assign(results.cases, await runVersionsCost({ quick, log }));
  // 5a'. A save in a git work tree, alone and followed by `git status` (bench/gitStatusLatency.js).
  Object.assign(results.cases, await runGitStatusLatency({ quick, log }));

  // 5b. One daemon, many clients at once (bench/fanout.js), on loopback.
  results.cases["fan-out, 20 clients"] = await runFanout(quick ? { files: 500, saves: 10 } : {});
  // 5b. Syncthing as a second peer, where it is installed.
  await syncthingCases({ work, files: FILES, runs: RUNS, log, results, zync: { startDaemon, once: zyncOnce } });

  // 6. Daemon start on a large tree: from scratch, and restarted unchanged; chokidar's own scan for reference.
  const S = join(work, "SCALE");
  log(`generating ${SCALE_FILES} small files`);
  generateTree(S, { files: SCALE_FILES, binaries: 0, minBytes: 64, maxBytes: 512, seed: 7 });
  const chok = await timed(process.execPath, [
    "--input-type=module",
    "-e",
    `import { watch } from "chokidar"; const t = performance.now(); const w = watch(${JSON.stringify(S)}, { ignoreInitial: true, followSymlinks: false }); w.on("ready", async () => { console.log(performance.now() - t); await w.close(); });`,
  ], { cwd: join(repo, "packages/daemon") });
  const chokidarMs = Number(chok.stdout.trim());
  const sdb = join(work, "scale.db");
  const port2 = await freeLoopbackPort();
  const first = await startDaemon(sdb, [`scale:${S}`], port2, ["--token-file", token]);
  await first.stop();
  const restarts = [];
  let hashedOnRestart = -1;
  for (let i = 0; i < RUNS; i++) {
    const again = await startDaemon(sdb, [`scale:${S}`], port2, ["--token-file", token]);
    restarts.push(again.startMs);
    hashedOnRestart = Number(/hashed (\d+)/.exec(again.output())?.[1] ?? -1);
    await again.stop();
  }
  results.cases[`daemon start, ${SCALE_FILES.toLocaleString("en")} files`] = {
    firstStartMs: first.startMs,
    restartMs: median(restarts),
    chokidarReadyMs: chokidarMs,
    restartVsChokidar: median(restarts) / chokidarMs,
    hashedOnRestart,
  };
  log(`daemon first start ${secs(first.startMs)}, restart ${secs(median(restarts))} (chokidar alone ${secs(chokidarMs)}), rehashed ${hashedOnRestart}`);
}


function isDir(p) {
  try {
    return readFileSync(p) && false;
  } catch (err) {
    return err.code === "EISDIR";
  }
}

function readJson(p) {
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch {
    return undefined;
  }
}

function printTable() {
  const c = results.cases;
  const row = (name, zync, rsync, ratio, target) => [name, zync, rsync, ratio, target];
  const rows = [row("case", "zync", "rsync", "zync/rsync", "target")];
  for (const [name, v] of Object.entries(c)) {
    if (name.startsWith("initial sync without")) rows.push(row(name, secs(v.zyncMs), "", `flushing costs ${(v.durabilityCost * 100).toFixed(0)}%`, ""));
    else if (name.startsWith("initial")) rows.push(row(name, secs(v.zyncMs), secs(v.rsyncMs), v.ratio.toFixed(2), "≤ 0.70"));
    else if (name === "no-op sync") rows.push(row(name, secs(v.zyncMs), secs(v.rsyncMs), v.ratio.toFixed(2), "≤ 0.20"));
    else if (name === "100 edited files") rows.push(row(name, secs(v.zyncMs), secs(v.rsyncMs), v.ratio.toFixed(2), "≤ 0.35"));
    else if (name.startsWith("one ")) {
      rows.push(row(name, secs(v.zyncMs), secs(v.rsyncMs), v.ratio.toFixed(2), "≤ 1.00"));
      if (v.ofRawTunnel !== undefined) rows.push(row("  throughput vs raw tunnel", `${v.zyncMBps.toFixed(0)} MB/s`, `${v.rawTunnelMBps.toFixed(0)} MB/s raw`, v.ofRawTunnel.toFixed(2), "≥ 0.50"));
      rows.push(row("  peak RSS client / daemon", `${mb(Math.max(...results.clientPeakKb))} / ${mb(results.daemonPeakKb)}`, "", "", "≤ 150 / 300 MB"));
    } else if (name.startsWith("live")) rows.push(row(name, `p50 ${v.p50Ms.toFixed(0)} ms, p99 ${v.p99Ms.toFixed(0)} ms`, "", "", "p50 ≤ 300, p99 ≤ 1000 ms"));
    else if (name.startsWith("fan-out")) {
      rows.push(row(`${name}: initial, slowest vs alone`, `${secs(v.initialSlowestMs)} vs ${secs(v.loneInitialMs)}`, "", v.slowestVsLone.toFixed(2), "≤ 1.5 where the link limits"));
      rows.push(row(`${name}: live, every client`, `p50 ${v.liveAll.p50Ms.toFixed(0)} ms, p99 ${v.liveAll.p99Ms.toFixed(0)} ms`, `alone p50 ${v.liveLone.p50Ms.toFixed(0)} ms`, "", "p99 ≤ 1000 ms"));
      rows.push(row(`${name}: daemon reads per served file`, v.readsPerFile === undefined ? "n/a" : v.readsPerFile.toFixed(3), "", "", ""));
    } else if (name.startsWith("daemon start")) {
      rows.push(row(`${name}, first`, secs(v.firstStartMs), "", "", ""));
      rows.push(row(`${name}, restart`, `${secs(v.restartMs)} (${v.hashedOnRestart} rehashed)`, `chokidar ${secs(v.chokidarReadyMs)}`, v.restartVsChokidar.toFixed(2), "≤ 1.5, 0 rehashed"));
    } else if (name.startsWith("daemon first")) rows.push(row(name, secs(v.zyncMs), "", "", ""));
  }
  rows.push(...syncthingRows(c));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  process.stdout.write(`\n${out.join("\n")}\n\nmedians of ${RUNS} run(s); ${results.transport}\n`);
}

try {
  const link = withWan ? wanLinkFromArgs(process.argv) : undefined;
  if (!wanOnly) {
    await main();
    printTable();
  }
  if (withWan) {
    results.wan = await runWan({ quick, runs: RUNS, link, log });
    printWanTable(results.wan);
  }
  const dir = join(repo, "bench/results");
  mkdirSync(dir, { recursive: true });
  // A WAN-only run keeps the loopback figures of the last full run.
  const previous = wanOnly ? readJson(join(dir, "latest.json")) : undefined;
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(previous ? { ...previous, wan: results.wan } : results, null, 2)}\n`);
  log(`results written to bench/results/latest.json`);
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}

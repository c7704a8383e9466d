// The WAN cases of `npm run bench`: zync and rsync through the same modelled link (bench/linkModel.js, a proxy
// in front of the loopback sshd with a bandwidth limit, a one-way delay and a bounded queue per direction).
// zync's daemon opens its own `ssh -R` tunnel (`--tunnel`) through the link; rsync's ssh goes through it too;
// ssh compression is off for both. Every timed run also records the bytes that crossed the link each way.
//
//   npm run bench -- --wan [--quick] [--rate 50mbit] [--rtt 40]   only these cases (latest.json keeps the rest)
//   npm run bench [--quick]                                        the loopback cases, then these (--no-wan: not these)
//
// The link: the same rate each way (default 50 Mbit/s), half the RTT (default 40 ms) as each way's delay, and
// each way's queue bounded at one bandwidth-delay product (rate × RTT: 244 KiB at the defaults, at least
// 64 KiB), the classic size of a router's buffer: enough to keep one TCP flow at the full rate, small enough
// that a sender meets backpressure (the proxy stops reading its socket) instead of an unbounded buffer.
// The dev tree is the bench's seeded generator (tree.js) at 4,000 source files of 1 to 7 KiB and four 5 MiB
// random blobs (about 39 MB), the shape of the tree behind the figures in issue 13.
import { execFileSync } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { parseRate, SEGMENT_BYTES } from "../tests/dist/helpers/linkModel.js";
import { ensureSshTools, freeLoopbackPort, startLoopbackSshd } from "../tests/dist/helpers/loopbackSsh.js";
import { startLink } from "./linkModel.js";
import { median, percentile, saveLatencies, startTracked, timed, until } from "./measure.js";
import { editFiles, generateTree, prng, randomBytes } from "./tree.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = {
  daemon: join(repo, "packages/daemon/bin/zync-daemon.js"),
  client: join(repo, "packages/client/bin/zync-client.js"),
};
const MiB = 1024 * 1024;
const LATENCY_SAMPLES = 20;

/** The link from the command line: `--rate 50mbit` and `--rtt 40` (milliseconds), with those defaults. */
export function wanLinkFromArgs(argv) {
  const value = (flag) => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    if (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) throw new Error(`${flag} needs a value (for example ${flag === "--rate" ? "--rate 50mbit" : "--rtt 40"})`);
    return argv[i + 1];
  };
  const rateBitsPerSec = parseRate(value("--rate") ?? "50mbit");
  const rttText = value("--rtt") ?? "40";
  const rttMs = Number(rttText);
  if (!/^\d+(\.\d+)?$/.test(rttText) || !(rttMs >= 0)) throw new Error(`--rtt ${JSON.stringify(rttText)} is not a round trip in milliseconds, such as 40`);
  return { rateBitsPerSec, rttMs };
}

const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mbytes = (b) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} KB`);
const rateText = (bits) => (bits >= 1e9 ? `${bits / 1e9} Gbit/s` : bits >= 1e6 ? `${bits / 1e6} Mbit/s` : `${bits / 1e3} kbit/s`);

/** Log lines of about `bytes` bytes, seeded; a log is text, as compressible as real ones are. */
function logText(rand, bytes, startLine) {
  const levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
  const words = ["request", "handled", "cache", "miss", "hit", "user", "session", "query", "rows", "retry", "upstream", "timeout"];
  const lines = [];
  let size = 0;
  for (let n = startLine; size < bytes; n++) {
    const ts = new Date(Date.UTC(2026, 11, 1) + n * 7).toISOString();
    const line = `${ts} ${levels[Math.floor(rand() * levels.length)]} worker-${Math.floor(rand() * 16)} ${words[Math.floor(rand() * words.length)]} ${words[Math.floor(rand() * words.length)]} id=${Math.floor(rand() * 1e9)} in ${Math.floor(rand() * 900)} ms`;
    lines.push(line);
    size += line.length + 1;
  }
  const text = `${lines.join("\n")}\n`;
  return { text: text.slice(0, bytes - 1) + "\n", lines: lines.length };
}

/**
 * Runs the WAN cases and returns their results (for latest.json's "wan" key). `log` reports progress; `runs`
 * is how many times each timed case runs (the median is kept).
 */
export async function runWan({ quick, runs, link: spec, log }) {
  const why = ensureSshTools(log);
  if (why !== undefined) {
    log(`WAN cases skipped: ${why}`);
    return { skipped: why };
  }
  const work = mkdtempSync(join(tmpdir(), "zync-wan-"));
  const cleanups = [];
  const startProcess = (cmd, args) => startTracked(cmd, args, cleanups);
  try {
    return await cases({ quick, runs, spec, log, work, cleanups, startProcess });
  } finally {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

async function cases({ quick, runs, spec, log, work, cleanups, startProcess }) {
  const FILES = quick ? 1000 : 4000;
  const BLOBS = quick ? 2 : 4;
  const BLOB_BYTES = (quick ? 2 : 5) * MiB;
  const BIG_BYTES = (quick ? 16 : 100) * MiB;
  const LOG_BYTES = (quick ? 32 : 1024) * MiB;
  // Today zync sends the whole log again, minutes per run at 50 Mbit/s: that case runs once in a full run.
  const LOG_RUNS = quick ? runs : 1;

  const ssh = await startLoopbackSshd();
  cleanups.push(() => ssh.stop());
  const link = await startLink({ targetPort: ssh.port, ...spec });
  cleanups.push(() => link.stop());
  const wan = {
    date: new Date().toISOString(),
    quick,
    runs,
    link: {
      rateBitsPerSec: spec.rateBitsPerSec,
      rttMs: spec.rttMs,
      oneWayDelayMs: link.direction.delayMs,
      queueBytes: link.direction.queueBytes,
      segmentBytes: SEGMENT_BYTES,
      model: "per direction: store-and-forward serialiser at the rate, then the one-way delay; a queue bounded at one bandwidth-delay product (at least 64 KiB) that pauses the sender when full",
    },
    commit: gitCommit(),
    tree: { files: FILES, blobs: BLOBS, blobBytes: BLOB_BYTES, bigFileBytes: BIG_BYTES, logBytes: LOG_BYTES },
    transport: "zync: zync-daemon --tunnel (ssh -R) through the link into a loopback sshd; rsync: rsync -e ssh through the same link; ssh Compression=no for both",
    cases: {},
  };
  log(`WAN link ${rateText(spec.rateBitsPerSec)}, RTT ${spec.rttMs} ms, queue ${(link.direction.queueBytes / 1024).toFixed(0)} KiB per direction (proxy on port ${link.port})`);

  // ssh through the link: the loopback server's options with the link's port, compression off.
  const sshOpts = [...ssh.sshOptions];
  sshOpts[sshOpts.indexOf("-p") + 1] = String(link.port);
  sshOpts.push("-o", "Compression=no");
  const rsync = (flags, src, dst) => timed("rsync", [...flags, "--delete", "-e", ["ssh", ...sshOpts].join(" "), `${src}/`, `${ssh.target}:${dst}/`]);

  // The trees on E.
  const E = join(work, "E");
  const BIG = join(work, "BIG");
  const LOG = join(work, "LOG");
  log(`WAN: generating a dev tree of ${FILES} source files and ${BLOBS} binaries of ${BLOB_BYTES / MiB} MiB, a ${BIG_BYTES / MiB} MiB file and a ${LOG_BYTES / MiB} MiB log`);
  const paths = generateTree(E, { files: FILES, binaries: BLOBS, binaryBytes: BLOB_BYTES, seed: 13 });
  mkdirSync(BIG);
  mkdirSync(LOG);
  const bigFile = join(BIG, "disk.img");
  const logFile = join(LOG, "app.log");
  {
    const rand = prng(21);
    const block = randomBytes(rand, 8 * MiB);
    for (let off = 0; off < BIG_BYTES; off += block.length) appendFileSync(bigFile, block.subarray(0, Math.min(block.length, BIG_BYTES - off)));
    let line = 0;
    for (let off = 0; off < LOG_BYTES; ) {
      const { text, lines } = logText(rand, Math.min(8 * MiB, LOG_BYTES - off), line);
      appendFileSync(logFile, text);
      off += Buffer.byteLength(text);
      line += lines;
    }
  }

  // The daemon on E, with its own tunnel through the link; R's end is a port on the sshd's loopback.
  const daemonPort = await freeLoopbackPort();
  const remotePort = await freeLoopbackPort();
  const db = join(work, "sync.db");
  const token = `${db}.token`;
  const daemon = startProcess(process.execPath, [
    BIN.daemon, "--port", String(daemonPort), "--db", db, "--verbose",
    "--dirs", `dev:${E}`, `big:${BIG}`, `log:${LOG}`,
    "--tunnel", `${ssh.target}:${link.port}`, "--remote-port", String(remotePort), "--ssh-identity", ssh.identity,
    "--ssh-option", "StrictHostKeyChecking=no", "--ssh-option", "UserKnownHostsFile=/dev/null", "--ssh-option", "Compression=no",
  ]);
  await until(() => daemon.output().includes("tunnel up") || daemon.child.exitCode !== null, "the daemon's tunnel through the link", 600_000, 20);
  if (daemon.child.exitCode !== null) throw new Error(`the daemon exited: ${daemon.output().trim().split("\n").slice(-3).join(" | ")}`);
  const url = `ws://127.0.0.1:${remotePort}`;
  const directUrl = `ws://127.0.0.1:${daemonPort}`;

  const R = (name) => join(work, `R-${name}`);
  const zdb = (name) => join(work, `client-${name}.db`);
  const fresh = (...ps) => {
    for (const p of ps) rmSync(p, { recursive: true, force: true });
  };
  const freshDb = (name) => fresh(zdb(name), `${zdb(name)}-wal`, `${zdb(name)}-shm`);
  const zyncOnce = (root, dst, server = url) =>
    timed(process.execPath, [BIN.client, "--once", "--quiet", "--server", server, "--token-file", token, "--db", zdb(root), "--dirs", `${root}:${dst}`], {
      env: { ...process.env, ZYNC_TOKEN: "" },
    });
  const headOf = () => {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return Number(conn.prepare("SELECT value FROM meta WHERE key = 'head'").get()?.value ?? 0);
    } finally {
      conn.close();
    }
  };
  /** Waits until the daemon has recorded at least `n` more changes than `before` and then records nothing for 300 ms. */
  const recorded = async (before, n) => {
    await until(() => headOf() >= before + n, `the daemon to record ${n} change(s)`, 600_000, 20);
    let last = headOf();
    let since = Date.now();
    await until(() => {
      const h = headOf();
      if (h !== last) [last, since] = [h, Date.now()];
      return Date.now() - since >= 300;
    }, "the daemon's log to settle", 600_000, 20);
  };
  const check = (res, what) => {
    if (res.code !== 0) throw new Error(`${what} exited ${res.code}: ${(res.stderr || res.stdout).trim().split("\n").slice(-3).join(" | ")}`);
    return res;
  };

  /**
   * Times each tool `n` times (alternating the order), with `prepare(i)` before each round, and records the
   * median wall time and the median bytes through the link each way for each tool.
   */
  const compare = async (name, tools, prepare = async () => undefined, n = runs) => {
    const samples = Object.fromEntries(Object.keys(tools).map((t) => [t, []]));
    for (let i = 0; i < n; i++) {
      await prepare(i);
      const order = i % 2 === 0 ? Object.keys(tools) : Object.keys(tools).reverse();
      for (const t of order) {
        const before = await link.counters();
        const res = check(await tools[t](i), `${t} (${name})`);
        const after = await link.counters();
        samples[t].push({ ms: res.ms, e2r: after.e2rBytes - before.e2rBytes, r2e: after.r2eBytes - before.r2eBytes });
      }
    }
    const out = {};
    for (const [t, xs] of Object.entries(samples)) {
      out[t] = {
        ms: median(xs.map((x) => x.ms)),
        runsMs: xs.map((x) => x.ms),
        e2rBytes: median(xs.map((x) => x.e2r)),
        r2eBytes: median(xs.map((x) => x.r2e)),
      };
    }
    wan.cases[name] = { runs: n, tools: out };
    log(`WAN ${name}: ${Object.entries(out).map(([t, v]) => `${t} ${secs(v.ms)} (${mbytes(v.e2rBytes)} E→R, ${mbytes(v.r2eBytes)} R→E)`).join("; ")}`);
    return wan.cases[name];
  };
  const ratio = (c, a, b) => c.tools[a].ms / c.tools[b].ms;

  // 1. Initial sync into empty folders (the daemon has indexed already).
  const initial = await compare(
    `initial sync, ${FILES.toLocaleString("en")} files + ${BLOBS} × ${BLOB_BYTES / MiB} MiB`,
    {
      zync: () => zyncOnce("dev", R("zync")),
      "rsync -a": () => rsync(["-a"], E, R("rsync")),
      "rsync -az": () => rsync(["-az"], E, R("rsync-z")),
    },
    async () => {
      fresh(R("zync"), R("rsync"), R("rsync-z"));
      freshDb("dev");
      mkdirSync(R("rsync"));
      mkdirSync(R("rsync-z"));
    },
  );
  initial.targets = [
    { vs: "rsync -a", what: "≤ 0.70 × rsync -a", ratio: ratio(initial, "zync", "rsync -a"), met: ratio(initial, "zync", "rsync -a") <= 0.7 },
    { vs: "rsync -az", what: "≤ 0.90 × rsync -az", ratio: ratio(initial, "zync", "rsync -az"), met: ratio(initial, "zync", "rsync -az") <= 0.9 },
  ];

  // 2. No-op.
  const noop = await compare("no-op --once", { zync: () => zyncOnce("dev", R("zync")), "rsync -a": () => rsync(["-a"], E, R("rsync")) });
  noop.targets = [{ vs: "rsync -a", what: "≤ 0.40 × rsync -a", ratio: ratio(noop, "zync", "rsync -a"), met: ratio(noop, "zync", "rsync -a") <= 0.4 }];

  // 3. 100 edited files.
  const edits = await compare(
    "100 edited files --once",
    { zync: () => zyncOnce("dev", R("zync")), "rsync -a": () => rsync(["-a"], E, R("rsync")) },
    async (i) => {
      const before = headOf();
      editFiles(E, paths, 100, 3000 + i);
      await recorded(before, 100);
    },
  );
  edits.targets = [{ vs: "rsync -a", what: "≤ 0.50 × rsync -a", ratio: ratio(edits, "zync", "rsync -a"), met: ratio(edits, "zync", "rsync -a") <= 0.5 }];

  // R's copies of the large files are placed without the link (zync over loopback, rsync's by a local copy that
  // keeps the mtime), so that only the change is timed.
  log("WAN: placing R's copies of the large files (not through the link)");
  for (const root of ["big", "log"]) {
    freshDb(root);
    check(await zyncOnce(root, R(`zync-${root}`), directUrl), `zync seeding ${root}`);
    check(await timed("cp", ["-a", `${root === "big" ? BIG : LOG}/.`, R(`rsync-${root}`)]), `copying ${root}`);
  }

  // 4. 4 KiB overwritten in the middle of the large file.
  const CHANGED = 4096;
  const middle = await compare(
    `4 KiB overwritten in a ${BIG_BYTES / MiB} MiB file`,
    { zync: () => zyncOnce("big", R("zync-big")), "rsync -a": () => rsync(["-a"], BIG, R("rsync-big")) },
    async (i) => {
      const before = headOf();
      const fd = openSync(bigFile, "r+");
      writeSync(fd, randomBytes(prng(500 + i), CHANGED), 0, CHANGED, Math.floor(BIG_BYTES / 2) + i * 3 * CHANGED);
      closeSync(fd);
      await recorded(before, 1);
    },
  );
  const zMiddle = middle.tools.zync;
  const allowed = 2 * CHANGED + 0.01 * BIG_BYTES;
  middle.targets = [
    { vs: "rsync -a", what: "≤ 1.00 × rsync -a", ratio: ratio(middle, "zync", "rsync -a"), met: ratio(middle, "zync", "rsync -a") <= 1 },
    { what: `≤ ${mbytes(allowed)} through the link (2 × 4 KiB + 1% of the file, both ways)`, bytes: zMiddle.e2rBytes + zMiddle.r2eBytes, met: zMiddle.e2rBytes + zMiddle.r2eBytes <= allowed },
  ];

  // 5. 1 MiB appended to the log (plain -a for rsync: its delta algorithm, not --append).
  let logLine = 1e9;
  const append = await compare(
    `1 MiB appended to a ${LOG_BYTES >= 1024 * MiB ? `${LOG_BYTES / 1024 / MiB} GiB` : `${LOG_BYTES / MiB} MiB`} log`,
    { zync: () => zyncOnce("log", R("zync-log")), "rsync -a": () => rsync(["-a"], LOG, R("rsync-log")) },
    async (i) => {
      const before = headOf();
      const { text, lines } = logText(prng(700 + i), MiB, logLine);
      logLine += lines;
      appendFileSync(logFile, text);
      await recorded(before, 1);
    },
    LOG_RUNS,
  );
  append.targets = [{ vs: "rsync -a", what: "(no target in the issue)", ratio: ratio(append, "zync", "rsync -a") }];
  append.logBytes = statSync(logFile).size;

  // 6. Live latency: a save on E until a running client on R has it.
  const live = startProcess(process.execPath, [BIN.client, "--server", url, "--token-file", token, "--db", zdb("dev"), "--interval", "3600", "--dirs", `dev:${R("zync")}`]);
  await until(() => live.output().includes("connected"), "the live client", 60_000, 20);
  mkdirSync(join(E, "live"), { recursive: true });
  await until(() => isDir(join(R("zync"), "live")), "the live folder on R", 60_000, 5);
  const lat = await saveLatencies(E, R("zync"), "live", LATENCY_SAMPLES, 60_000);
  await live.stop();
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  wan.cases[`live latency (${LATENCY_SAMPLES} saves)`] = {
    p50Ms: p50,
    p99Ms: p99,
    samplesMs: lat,
    targets: [
      { what: `p50 ≤ RTT + 60 = ${spec.rttMs + 60} ms`, met: p50 <= spec.rttMs + 60 },
      { what: `p99 ≤ 2 × RTT + 150 = ${2 * spec.rttMs + 150} ms`, met: p99 <= 2 * spec.rttMs + 150 },
    ],
  };
  // What the link's queues went through over the whole run: how often a sender was held back, the deepest backlog.
  const totals = await link.counters();
  const dirs = totals.connections.flatMap((c) => [c.e2r, c.r2e]);
  wan.link.carried = {
    connections: totals.connections.length,
    e2rBytes: totals.e2rBytes,
    r2eBytes: totals.r2eBytes,
    senderPauses: dirs.reduce((n, d) => n + d.pauses, 0),
    maxBacklogBytes: Math.max(...dirs.map((d) => d.maxBacklogBytes)),
  };
  log(`WAN live latency p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (RTT ${spec.rttMs} ms)`);
  return wan;
}

function gitCommit() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}


function isDir(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Prints the WAN table: each case against rsync, the bytes each tool sent each way, the targets and whether they hold. */
export function printWanTable(wan) {
  if (wan.skipped) {
    process.stdout.write(`\nWAN cases skipped: ${wan.skipped}\n`);
    return;
  }
  const rows = [["case", "tool", "time", "zync/this", "E→R", "R→E", "target", "holds?"]];
  for (const [name, c] of Object.entries(wan.cases)) {
    if (c.tools) {
      const z = c.tools.zync.ms;
      let first = true;
      for (const [tool, v] of Object.entries(c.tools)) {
        const target = tool === "zync" ? undefined : c.targets.find((t) => t.vs === tool && t.met !== undefined);
        rows.push([first ? (c.runs === wan.runs ? name : `${name} (${c.runs} run${c.runs === 1 ? "" : "s"})`) : "", tool, secs(v.ms), tool === "zync" ? "" : (z / v.ms).toFixed(2), mbytes(v.e2rBytes), mbytes(v.r2eBytes), target?.what ?? "", target ? (target.met ? "ok" : "NOT met") : ""]);
        first = false;
      }
      for (const t of c.targets.filter((x) => x.bytes !== undefined)) rows.push(["", "zync bytes", mbytes(t.bytes), "", "", "", t.what, t.met ? "ok" : "NOT met"]);
    } else {
      c.targets.forEach((t, i) => rows.push([i === 0 ? name : "", "zync", i === 0 ? `p50 ${c.p50Ms.toFixed(0)} ms` : `p99 ${c.p99Ms.toFixed(0)} ms`, "", "", "", t.what, t.met ? "ok" : "NOT met"]));
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  const l = wan.link;
  process.stdout.write(
    `\nWAN: ${rateText(l.rateBitsPerSec)} each way, RTT ${l.rttMs} ms, queue ${(l.queueBytes / 1024).toFixed(0)} KiB per direction (senders held back ${l.carried.senderPauses} times, deepest backlog ${(l.carried.maxBacklogBytes / 1024).toFixed(0)} KiB); medians of ${wan.runs} run(s)\n${out.join("\n")}\n${wan.transport}\n`,
  );
}

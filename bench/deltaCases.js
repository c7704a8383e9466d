// Delta transfer on loopback: a 4 KiB overwrite in the middle of a 100 MiB file, and 1 MiB appended to a 1 GiB
// file. Each change is pulled with the feature (only changed blocks travel) and without it (ZYNC_FEATURES=, the
// whole file), through a counting TCP proxy in front of the daemon, so the bytes are what really crossed the
// socket each way (WebSocket framing and every message included). Run alone: `node bench/deltaCases.js [--quick]`.
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { peakKb, timed, until } from "./measure.js";
import { prng, randomBytes } from "./tree.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = { daemon: join(repo, "packages/daemon/bin/zync-daemon.js"), client: join(repo, "packages/client/bin/zync-client.js") };
const MiB = 1024 * 1024;

/** A TCP proxy to `port` that counts the bytes each way. */
async function countingProxy(port) {
  const counts = { up: 0, down: 0 };
  const server = createServer((client) => {
    const daemon = createConnection({ host: "127.0.0.1", port });
    client.on("data", (d) => (counts.up += d.length));
    daemon.on("data", (d) => (counts.down += d.length));
    client.pipe(daemon);
    daemon.pipe(client);
    const end = () => {
      client.destroy();
      daemon.destroy();
    };
    client.on("error", end);
    daemon.on("error", end);
    client.on("close", end);
    daemon.on("close", end);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { port: server.address().port, counts, close: () => new Promise((r) => server.close(r)) };
}

function headOf(db) {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(conn.prepare("SELECT value FROM meta WHERE key = 'head'").get()?.value ?? 0);
  } finally {
    conn.close();
  }
}

/** Writes `bytes` of seeded random data (an 8 MiB pattern, each copy stamped with its index so none repeats). */
function writeRandom(path, bytes, seed) {
  const block = randomBytes(prng(seed), 8 * MiB);
  const fd = openSync(path, "w");
  try {
    for (let off = 0, i = 0; off < bytes; off += block.length, i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, Math.min(block.length, bytes - off));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs the two delta cases and returns them keyed by name: for each, with and without the feature, the wall time of
 * the `--once` run that fetched the change and the bytes that crossed the socket each way.
 */
export async function runDeltaCases({ quick = false, log = (m) => process.stderr.write(`bench: ${m}\n`) } = {}) {
  const work = mkdtempSync(join(tmpdir(), "zync-delta-bench-"));
  const cases = {};
  const E = join(work, "E");
  mkdirSync(E);
  const midBytes = (quick ? 16 : 100) * MiB;
  const logBytes = (quick ? 64 : 1024) * MiB;
  log(`delta: writing a ${midBytes / MiB} MiB file and a ${logBytes / MiB} MiB log`);
  writeRandom(join(E, "middle.bin"), midBytes, 11);
  writeRandom(join(E, "app.log"), logBytes, 12);
  const db = join(work, "sync.db");
  const daemon = spawn(process.execPath, [BIN.daemon, "--port", "0", "--db", db, "--dirs", `data:${E}`], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ZYNC_TOKEN: "" } });
  let out = "";
  daemon.stdout.on("data", (d) => (out += d));
  daemon.stderr.on("data", (d) => (out += d));
  try {
    await until(() => /listening on \S+:(\d+)/.test(out) || daemon.exitCode !== null, "the daemon to listen", 600_000);
    if (daemon.exitCode !== null) throw new Error(`daemon exited: ${out}`);
    const port = Number(/listening on \S+:(\d+)/.exec(out)[1]);
    const proxy = await countingProxy(port);
    const once = (dst, cdb, env = {}) =>
      timed(process.execPath, [BIN.client, "--once", "--quiet", "--server", `ws://127.0.0.1:${proxy.port}`, "--token-file", `${db}.token`, "--db", cdb, "--dirs", `data:${dst}`], {
        env: { ...process.env, ZYNC_TOKEN: "", ...env },
      });
    const R = { delta: join(work, "R-delta"), whole: join(work, "R-whole") };
    const cdb = { delta: join(work, "client-delta.db"), whole: join(work, "client-whole.db") };
    for (const k of ["delta", "whole"]) {
      const res = await once(R[k], cdb[k]);
      if (res.code !== 0) throw new Error(`initial sync exited ${res.code}: ${res.stderr}`);
    }
    const measure = async (name, change, changedBytes, fileBytes) => {
      const head = headOf(db);
      change();
      await until(() => headOf(db) > head, "the daemon to record the change", 120_000, 20);
      const row = { changedBytes, fileBytes };
      for (const k of ["delta", "whole"]) {
        const before = { ...proxy.counts };
        const res = await once(R[k], cdb[k], k === "whole" ? { ZYNC_FEATURES: "" } : {});
        if (res.code !== 0) throw new Error(`${name} (${k}) exited ${res.code}: ${res.stderr}`);
        row[k] = { ms: res.ms, upBytes: proxy.counts.up - before.up, downBytes: proxy.counts.down - before.down, clientPeakKb: res.peakKb };
      }
      const sent = row.delta.upBytes + row.delta.downBytes;
      row.targetBytes = 2 * changedBytes + fileBytes / 100;
      row.withinTarget = sent <= row.targetBytes;
      cases[name] = row;
      const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
      log(
        `${name}: delta ${(row.delta.ms / 1000).toFixed(2)} s, ${kb(row.delta.upBytes)} up + ${kb(row.delta.downBytes)} down` +
          ` (target ≤ ${kb(row.targetBytes)}: ${row.withinTarget ? "met" : "missed"}); whole file ${(row.whole.ms / 1000).toFixed(2)} s, ${kb(row.whole.downBytes)} down`,
      );
    };
    await measure(
      `delta: 4 KiB overwritten in the middle of a ${midBytes / MiB} MiB file`,
      () => {
        const fd = openSync(join(E, "middle.bin"), "r+");
        writeSync(fd, randomBytes(prng(13), 4096), 0, 4096, midBytes / 2 + 1234);
        closeSync(fd);
      },
      4096,
      midBytes,
    );
    await measure(`delta: 1 MiB appended to a ${logBytes / MiB} MiB log`, () => appendFileSync(join(E, "app.log"), randomBytes(prng(14), MiB)), MiB, logBytes);
    cases["delta: daemon peak RSS"] = { kb: peakKb(daemon.pid) };
    await proxy.close();
  } finally {
    daemon.kill("SIGTERM");
    await new Promise((r) => (daemon.exitCode !== null ? r() : daemon.once("close", r)));
    rmSync(work, { recursive: true, force: true });
  }
  return cases;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cases = await runDeltaCases({ quick: process.argv.includes("--quick") });
  process.stdout.write(`${JSON.stringify(cases, null, 2)}\n`);
}

// What E's version store costs the live path: a save on E until a running client on R has it, with the store on
// (the default: every small file served is kept, compressed, in the background) and off (`--versions-max-mb 0`),
// in the same run. Two daemons on two copies of the same small tree, each with its live client, on loopback; the
// saves alternate between them, so both meet the same load on the machine. Run alone: `node bench/versionsCost.js
// [--quick]`.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, readIfExists, startTracked, until } from "./measure.js";
import { generateTree } from "./tree.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BIN = { daemon: join(repo, "packages/daemon/bin/zync-daemon.js"), client: join(repo, "packages/client/bin/zync-client.js") };

/** Files and bytes in a version store folder (0 when it does not exist). */
function storeSize(dir) {
  try {
    const names = readdirSync(dir).filter((n) => n.endsWith(".gz"));
    return { files: names.length, bytes: names.reduce((n, f) => n + statSync(join(dir, f)).size, 0) };
  } catch {
    return { files: 0, bytes: 0 };
  }
}

/** One side of the comparison: a daemon (with `extra` flags) on its own copy of the tree, and a live client. */
async function startSide(work, name, extra, cleanups, files) {
  const E = join(work, `E-${name}`);
  const R = join(work, `R-${name}`);
  generateTree(E, { files, binaries: 0, minBytes: 1024, maxBytes: 7168, seed: 5 });
  mkdirSync(join(E, "live"), { recursive: true });
  const db = join(work, `${name}.db`);
  const daemon = startTracked(process.execPath, [BIN.daemon, "--port", "0", "--db", db, "--dirs", `src:${E}`, ...extra], cleanups);
  await until(() => /listening on \S+:(\d+)/.test(daemon.output()) || daemon.child.exitCode !== null, `the ${name} daemon to listen`, 300_000, 20);
  if (daemon.child.exitCode !== null) throw new Error(`the ${name} daemon exited: ${daemon.output()}`);
  const port = Number(/listening on \S+:(\d+)/.exec(daemon.output())[1]);
  const client = startTracked(process.execPath, [BIN.client, "--server", `ws://127.0.0.1:${port}`, "--token-file", `${db}.token`, "--db", join(work, `${name}-client.db`), "--interval", "3600", "--dirs", `src:${R}`], cleanups);
  await until(() => client.output().includes("connected"), `the ${name} live client`, 60_000, 20);
  // The initial sync is done once the live folder is there.
  await until(() => readIfExists(join(R, "live")) !== undefined || statSync(join(R, "live"), { throwIfNoEntry: false })?.isDirectory(), `the ${name} initial sync`, 300_000, 10);
  return { name, E, R, versions: `${db}.versions`, stop: async () => { await client.stop(); await daemon.stop(); } };
}

/** Saves one file on E (a new one or an edit, about 4 KiB, never the same content twice) and times it until R holds it. */
async function saveOnce(side, i, timeoutMs) {
  const path = join("live", `save_${i % 5}.txt`);
  const text = `${side.name} save ${i} ${Date.now()}\n${"x".repeat(4000)}\n`;
  const t0 = performance.now();
  writeFileSync(join(side.E, path), text);
  await until(() => readIfExists(join(side.R, path)) === text, `save ${i} on the ${side.name} side`, timeoutMs, 1);
  return performance.now() - t0;
}

/**
 * Runs the comparison and returns it keyed by case name: p50/p99 of a save until R has it, store on and off, and
 * what each store holds afterwards (the "on" store must have kept the saves, the "off" one nothing).
 */
export async function runVersionsCost({ quick = false, log = (m) => process.stderr.write(`bench: ${m}\n`) } = {}) {
  const work = mkdtempSync(join(tmpdir(), "zync-versions-bench-"));
  const cleanups = [];
  const saves = quick ? 20 : 100;
  try {
    log(`version store on the live path: ${saves} saves each, store on and off, alternating`);
    const on = await startSide(work, "on", [], cleanups, quick ? 200 : 1000);
    const off = await startSide(work, "off", ["--versions-max-mb", "0"], cleanups, quick ? 200 : 1000);
    const lat = { on: [], off: [] };
    for (let i = 0; i < saves; i++) {
      // Alternate which goes first, so neither always follows the other's background work.
      for (const side of i % 2 === 0 ? [on, off] : [off, on]) lat[side.name].push(await saveOnce(side, i, 30_000));
    }
    const kept = { on: storeSize(on.versions), off: storeSize(off.versions) };
    await on.stop();
    await off.stop();
    const row = (k) => ({ p50Ms: percentile(lat[k], 50), p90Ms: percentile(lat[k], 90), p99Ms: percentile(lat[k], 99), samplesMs: lat[k], storeFiles: kept[k].files, storeBytes: kept[k].bytes });
    const cases = { [`live save with the version store on (${saves} saves)`]: row("on"), [`live save with the version store off (${saves} saves)`]: row("off") };
    for (const [name, v] of Object.entries(cases)) log(`${name}: p50 ${v.p50Ms.toFixed(1)} ms, p90 ${v.p90Ms.toFixed(1)} ms, p99 ${v.p99Ms.toFixed(1)} ms; store holds ${v.storeFiles} version(s)`);
    return cases;
  } finally {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cases = await runVersionsCost({ quick: process.argv.includes("--quick") });
  process.stdout.write(`${JSON.stringify(cases, null, 2)}\n`);
}

// Syncthing as a second peer: two headless instances on loopback (E send-only, R receive-only), against zync's
// daemon and client on the same generated tree. Cases: initial sync (E's scan included for both tools), live
// latency (a save on E until R has it) and the peak resident memory of both sides. Used only when `syncthing` is
// on PATH.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeLoopbackPort } from "../tests/dist/helpers/loopbackSsh.js";
import { median, peakKb, percentile, readIfExists, startTracked, until } from "./measure.js";
import { generateTree } from "./tree.js";

const FOLDER = "bench";
const LIVE_SAMPLES = 10;

/** True when a `syncthing` binary answers on PATH. */
export function syncthingAvailable() {
  const r = spawnSync("syncthing", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** One instance's config: loopback only, no discovery, relays, NAT, usage or crash reports, upgrades or browser. */
function configXml({ self, peer, folderPath, folderType, listenPort, guiPort, apiKey, watchDelayS }) {
  const device = (d) =>
    `  <device id="${d.id}" name="${d.name}" compression="never" introducer="false"><address>tcp://127.0.0.1:${d.port}</address><autoAcceptFolders>false</autoAcceptFolders></device>`;
  return `<configuration version="36">
  <folder id="${FOLDER}" label="${FOLDER}" path="${folderPath}" type="${folderType}" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="${watchDelayS}" ignorePerms="false" autoNormalize="true">
    <filesystemType>basic</filesystemType>
    <device id="${self.id}"></device>
    <device id="${peer.id}"></device>
    <markerName>.stfolder</markerName>
  </folder>
${device(self)}
${device(peer)}
  <gui enabled="true" tls="false"><address>127.0.0.1:${guiPort}</address><apikey>${apiKey}</apikey></gui>
  <options>
    <listenAddress>tcp://127.0.0.1:${listenPort}</listenAddress>
    <globalAnnounceEnabled>false</globalAnnounceEnabled>
    <localAnnounceEnabled>false</localAnnounceEnabled>
    <relaysEnabled>false</relaysEnabled>
    <natEnabled>false</natEnabled>
    <urAccepted>-1</urAccepted>
    <startBrowser>false</startBrowser>
    <crashReportingEnabled>false</crashReportingEnabled>
    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
    <setLowPriority>false</setLowPriority>
  </options>
</configuration>
`;
}

/** Makes a home with keys (`syncthing generate`) and returns the device ID it printed. */
function generateHome(home) {
  rmSync(home, { recursive: true, force: true });
  const r = spawnSync("syncthing", ["generate", `--home=${home}`, "--no-default-folder", "--skip-port-probing"], { encoding: "utf8" });
  const id = /Device ID:\s*([A-Z0-9-]{63})/.exec(`${r.stdout}${r.stderr}`)?.[1];
  if (r.status !== 0 || id === undefined) throw new Error(`syncthing generate failed: ${`${r.stdout}${r.stderr}`.trim().slice(-300)}`);
  return id;
}

/** A pair of configured instances, not yet running. */
async function preparePair(work, eDir, rDir, watchDelayS) {
  const apiKey = "zync-bench-key";
  const E = { name: "E", home: join(work, "st-home-E"), port: await freeLoopbackPort(), gui: await freeLoopbackPort() };
  const R = { name: "R", home: join(work, "st-home-R"), port: await freeLoopbackPort(), gui: await freeLoopbackPort() };
  E.id = generateHome(E.home);
  R.id = generateHome(R.home);
  // Each folder carries Syncthing's marker, as Syncthing makes it for a folder it is given.
  mkdirSync(join(eDir, ".stfolder"), { recursive: true });
  mkdirSync(join(rDir, ".stfolder"), { recursive: true });
  writeFileSync(join(E.home, "config.xml"), configXml({ self: E, peer: R, folderPath: eDir, folderType: "sendonly", listenPort: E.port, guiPort: E.gui, apiKey, watchDelayS }));
  writeFileSync(join(R.home, "config.xml"), configXml({ self: R, peer: E, folderPath: rDir, folderType: "receiveonly", listenPort: R.port, guiPort: R.gui, apiKey, watchDelayS }));
  return { E, R, apiKey };
}

function startInstance(inst, cleanups) {
  const args = ["serve", `--home=${inst.home}`, "--no-browser", "--no-restart", "--no-upgrade", "--logflags=0"];
  return startTracked("syncthing", args, cleanups, { STNORESTART: "1", STNOUPGRADE: "1", STNODEFAULTFOLDER: "1" });
}

async function rest(inst, apiKey, path) {
  try {
    const res = await fetch(`http://127.0.0.1:${inst.gui}${path}`, { headers: { "X-API-Key": apiKey } });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

/** A process and its descendants (Syncthing's `serve` runs its work in a child process it monitors). */
function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        out.push(...readFileSync(`/proc/${out[i]}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Samples the peak RSS (VmHWM, kept by the kernel) of each process tree while it lives; a tree's figure is the sum
 * of its processes' peaks.
 */
function peakSampler(pids) {
  const peaks = pids.map(() => new Map());
  const sample = () => {
    pids.forEach((root, i) => {
      for (const p of processTree(root)) peaks[i].set(p, Math.max(peaks[i].get(p) ?? 0, peakKb(p) ?? 0));
    });
  };
  sample();
  const timer = setInterval(sample, 50);
  const sums = () => peaks.map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  return {
    stop() {
      sample();
      clearInterval(timer);
      return sums();
    },
  };
}


/**
 * Initial sync and memory of both tools, then Syncthing's live latency. `zync` gives run.js's own helpers:
 * `startDaemon(db, dirs, port)` resolving once listening, and `once(url, tokenFile, db, root, dst)`.
 */
export async function syncthingCases({ work, files, runs, log, results, zync }) {
  const version = syncthingAvailable();
  if (version === undefined) {
    log("syncthing is not on PATH: the Syncthing cases are skipped (apt-get install -y syncthing to include them)");
    return;
  }
  const base = join(work, "syncthing");
  mkdirSync(base, { recursive: true });
  const tree = join(base, "tree");
  log(`Syncthing (${version.split(" ").slice(0, 2).join(" ")}): generating its own copy of the ${files}-file tree`);
  generateTree(tree, { files, binaries: 20 });
  const expectedFiles = files + 20;
  const st = { version, initialMs: [], peakEKb: [], peakRKb: [] };
  const zy = { initialMs: [], daemonStartMs: [], peakDaemonKb: [], peakClientKb: [] };

  const runSyncthing = async (i) => {
    const R = join(base, `st-R${i}`);
    rmSync(R, { recursive: true, force: true });
    mkdirSync(R);
    const pair = await preparePair(base, tree, R, 1);
    const stops = [];
    const t0 = performance.now();
    const e = startInstance(pair.E, stops);
    const r = startInstance(pair.R, stops);
    const peaks = peakSampler([e.child.pid, r.child.pid]);
    try {
      await until(
        async () => {
          if (e.child.exitCode !== null || r.child.exitCode !== null) throw new Error(`syncthing exited: ${(e.output() + r.output()).slice(-400)}`);
          const s = await rest(pair.R, pair.apiKey, `/rest/db/status?folder=${FOLDER}`);
          return s !== undefined && s.state === "idle" && s.needTotalItems === 0 && s.localFiles >= expectedFiles;
        },
        "Syncthing's R to hold the whole tree",
        900_000,
        100,
      );
      const ms = performance.now() - t0;
      const [pe, pr] = peaks.stop();
      st.initialMs.push(ms);
      st.peakEKb.push(pe);
      st.peakRKb.push(pr);
      log(`syncthing initial ${(ms / 1000).toFixed(2)} s, peak RSS E ${(pe / 1024).toFixed(0)} MB + R ${(pr / 1024).toFixed(0)} MB`);
      return { pair, e, r, R, stops };
    } catch (err) {
      peaks.stop();
      for (const s of stops) await s();
      throw err;
    }
  };

  const runZync = async (i) => {
    const db = join(base, `zync-${i}.db`);
    const R = join(base, `zync-R${i}`);
    for (const p of [db, `${db}-wal`, `${db}-shm`, R]) rmSync(p, { recursive: true, force: true });
    const port = await freeLoopbackPort();
    const t0 = performance.now();
    const d = await zync.startDaemon(db, [`bench:${tree}`], port);
    const sampler = peakSampler([d.child.pid]);
    const res = await zync.once(`ws://127.0.0.1:${port}`, `${db}.token`, join(base, `zync-client-${i}.db`), "bench", R);
    const ms = performance.now() - t0;
    const [dp] = sampler.stop();
    await d.stop();
    if (res.code !== 0) throw new Error(`zync --once exited ${res.code}: ${res.stderr.trim().slice(-300)}`);
    zy.initialMs.push(ms);
    zy.daemonStartMs.push(d.startMs);
    zy.peakDaemonKb.push(dp);
    zy.peakClientKb.push(res.peakKb);
    log(`zync initial ${(ms / 1000).toFixed(2)} s, peak RSS daemon ${(dp / 1024).toFixed(0)} MB + client ${(res.peakKb / 1024).toFixed(0)} MB`);
  };

  let live;
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always meets a warmer cache.
    if (i % 2 === 1) await runZync(i);
    const pair = await runSyncthing(i);
    if (i < runs - 1) for (const s of pair.stops) await s();
    else live = pair;
    if (i % 2 === 0) await runZync(i);
  }

  // Live latency on the last pair, still running; Syncthing's watcher waits fsWatcherDelayS (set to 1 s, its
  // smallest) before it scans what changed.
  const lat = [];
  try {
    mkdirSync(join(tree, "live"), { recursive: true });
    for (let i = 0; i < LIVE_SAMPLES; i++) {
      const text = `sample ${i} ${Date.now()}\n`;
      const rel = join("live", `sample_${i}.txt`);
      const t0 = performance.now();
      writeFileSync(join(tree, rel), text);
      await until(() => readIfExists(join(live.R, rel)) === text, `Syncthing live sample ${i}`, 120_000, 5);
      lat.push(performance.now() - t0);
    }
  } finally {
    for (const s of live.stops) await s();
  }

  const stInitial = median(st.initialMs);
  const stPeak = median(st.peakEKb.map((e, i) => e + st.peakRKb[i]));
  const zyPeak = median(zy.peakDaemonKb.map((d, i) => d + zy.peakClientKb[i]));
  results.cases[`Syncthing, initial sync, ${files.toLocaleString("en")} files + 100 MB`] = {
    syncthingVersion: version,
    syncthingMs: stInitial,
    syncthingRunsMs: st.initialMs,
    zyncMs: median(zy.initialMs),
    zyncRunsMs: zy.initialMs,
    zyncDaemonStartMs: median(zy.daemonStartMs),
    ratio: median(zy.initialMs) / stInitial,
  };
  results.cases["Syncthing, peak RSS of both sides"] = {
    syncthingKb: stPeak,
    syncthingEKb: st.peakEKb,
    syncthingRKb: st.peakRKb,
    zyncKb: zyPeak,
    zyncDaemonKb: zy.peakDaemonKb,
    zyncClientKb: zy.peakClientKb,
    ratio: zyPeak / stPeak,
  };
  results.cases["Syncthing, live latency"] = { p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), samplesMs: lat, fsWatcherDelayS: 1 };
  log(`Syncthing live latency p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms (fsWatcherDelayS 1)`);
}

/** Table rows (case, zync, peer, ratio, target) for the Syncthing cases in `cases`. */
export function syncthingRows(cases) {
  const rows = [];
  const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
  for (const [name, v] of Object.entries(cases)) {
    if (!name.startsWith("Syncthing")) continue;
    if (name.includes("initial")) rows.push([name, secs(v.zyncMs), `Syncthing ${secs(v.syncthingMs)}`, v.ratio.toFixed(2), "≤ 0.50"]);
    else if (name.includes("RSS")) rows.push([name, mb(v.zyncKb), `Syncthing ${mb(v.syncthingKb)}`, v.ratio.toFixed(2), "≤ 1.00"]);
    else if (name.includes("live")) rows.push([name, "", `Syncthing p50 ${v.p50Ms.toFixed(0)} ms, p99 ${v.p99Ms.toFixed(0)} ms`, "", ""]);
  }
  return rows;
}

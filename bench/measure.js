// Timing and memory helpers for the benchmark: whole processes, wall time, peak resident memory.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Resident memory of a process in KiB (VmRSS), or undefined once it is gone. */
export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident memory of a process since it started, in KiB (VmHWM). */
export function peakKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command to completion; returns wall milliseconds, exit code, output and the sampled peak RSS. */
export function timed(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    let out = "";
    let err = "";
    let peak = 0;
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakKb(child.pid) ?? 0);
    }, 10);
    child.on("close", (code) => {
      clearInterval(sampler);
      resolve({ ms: performance.now() - t0, code, stdout: out, stderr: err, peakKb: peak });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Polls `check` until it is truthy; throws after `timeoutMs`. */
export async function until(check, what, timeoutMs = 60_000, everyMs = 5) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts a long-running process with its output collected; `stop` (also pushed onto `cleanups`) ends it with
 * SIGTERM and waits for it to close.
 */
export function startTracked(cmd, args, cleanups, env = { ZYNC_TOKEN: "" }) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("close", r));
      child.kill("SIGTERM");
      await gone;
    }
  };
  cleanups.push(stop);
  return { child, output: () => out, stop };
}

/** A file's text, or undefined when it cannot be read (yet). */
export function readIfExists(p) {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Saves `count` small files under `rel` in E, one at a time, and times each until R holds it (milliseconds):
 * the live-latency case of both links.
 */
export async function saveLatencies(eRoot, rRoot, rel, count, timeoutMs) {
  const lat = [];
  for (let i = 0; i < count; i++) {
    const text = `sample ${i} ${Date.now()}\n`;
    const path = join(rel, `sample_${i}.txt`);
    const t0 = performance.now();
    writeFileSync(join(eRoot, path), text);
    await until(() => readIfExists(join(rRoot, path)) === text, `live sample ${i}`, timeoutMs, 1);
    lat.push(performance.now() - t0);
  }
  return lat;
}

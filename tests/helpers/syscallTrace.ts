import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const STRACE = "/usr/bin/strace";

/**
 * Makes sure strace is here, installing it with apt-get when it is missing and this process may (root, apt-get
 * present). Returns undefined when ready, or a sentence saying why it cannot be had.
 */
export function ensureStrace(log: (msg: string) => void = () => undefined): string | undefined {
  if (existsSync(STRACE)) return canTrace();
  if (process.getuid?.() !== 0) return "strace is missing and installing it needs root";
  if (!existsSync("/usr/bin/apt-get")) return "strace is missing and there is no apt-get to install it";
  log("installing strace with apt-get (once per machine)");
  try {
    execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "strace"], { stdio: "ignore", timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  } catch (err) {
    return `installing strace failed: ${(err as Error).message.split("\n")[0]}`;
  }
  return existsSync(STRACE) ? canTrace() : "strace is still missing after apt-get install";
}

/** Tracing may be refused (a container without ptrace): found out before the test, not in it. */
function canTrace(): string | undefined {
  try {
    execFileSync(STRACE, ["-qq", "-o", "/dev/null", "true"], { stdio: "ignore", timeout: 10_000 });
    return undefined;
  } catch {
    return "strace cannot trace here (ptrace refused)";
  }
}

/**
 * A launcher (for `spawnBin`/`startTestDaemon`) that records, in `file`, every system call of the process and
 * its threads and children that names a path, lists a folder or places an inotify watch.
 */
export function traceLauncher(file: string): string[] {
  return [STRACE, "-f", "-qq", "-e", "trace=%file,getdents64,inotify_add_watch", "-o", file];
}

/** The traced lines that name a path starting with `prefix`. */
export function tracedCallsOn(file: string, prefix: string): string[] {
  const quoted = `"${prefix}`;
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes(quoted));
}

/** The one child of a process (strace's tracee), or undefined while it has none. */
export function onlyChild(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    return kids.length === 1 ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

import { spawn } from "node:child_process";
import { UsageError } from "@zync/node";

/** Where R's end of the tunnel is: a Unix socket (the default) or a TCP port on R's loopback. */
export type RemoteEnd = { kind: "socket"; path: string } | { kind: "port"; port: number };

/** R's socket when `--tunnel-socket` is not given: in the remote user's home, which E learns when the tunnel starts. */
export const DEFAULT_TUNNEL_SOCKET = "~/.zync/zync.sock";

// Plain names only: the path goes into a command R's shell runs, and into ssh's -R, which splits at ':'.
const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

/**
 * Checks `--tunnel-socket`: an absolute path on R, or `~/` and a path inside the remote user's home. Throws a
 * UsageError (one sentence) for anything else.
 */
export function parseTunnelSocket(value: string): string {
  const bad = (why: string): UsageError => new UsageError(`--tunnel-socket ${JSON.stringify(value)} ${why}`);
  const rest = value.startsWith("~/") ? value.slice(2) : value.startsWith("/") ? value.slice(1) : undefined;
  if (rest === undefined) return fail(bad("must be an absolute path on R, or start with ~/ for R's home"));
  if (!SAFE_PATH.test(rest)) return fail(bad("may only use letters, digits, '.', '_', '-' and '/'"));
  const segments = rest.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return fail(bad("has an empty, '.' or '..' segment"));
  if (Buffer.byteLength(value) > 100) return fail(bad("is too long for a Unix socket path"));
  return value;
}

function fail(err: UsageError): never {
  throw err;
}

/**
 * The command R runs before each start of the forward. sshd does not replace a socket left by an earlier tunnel
 * (unless R's sshd_config says StreamLocalBindUnlink yes), so a stale one is removed; for a path in the home its
 * folder is made, private to the user. It prints the home folder, so that `~/` can be resolved.
 */
export function socketPrepCommand(path: string): string {
  const inHome = path.startsWith("~/");
  const rel = inHome ? path.slice(2) : path;
  const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
  const steps = [
    ...(inHome && dir !== "" ? ["umask 077", `mkdir -p ${dir}`, `chmod 700 ${dir}`] : []),
    `if test -S ${rel}; then rm -f ${rel}; fi`,
    "pwd",
  ];
  // One word for whichever login shell R's user has: sh, csh and fish all read a single-quoted word the same way.
  return `sh -c '${steps.join("; ")}'`;
}

/** The absolute socket path on R, from the configured path and the home folder the prep command printed. */
export function resolveRemoteSocket(path: string, prepOutput: string): string {
  if (!path.startsWith("~/")) return path;
  const home = prepOutput.trim().split("\n").at(-1)?.trim() ?? "";
  if (!home.startsWith("/") || !SAFE_PATH.test(home)) {
    throw new Error(`R's home folder (${JSON.stringify(home.slice(0, 100))}) cannot hold the socket; give --tunnel-socket an absolute path`);
  }
  const resolved = `${home === "/" ? "" : home}/${path.slice(2)}`;
  if (Buffer.byteLength(resolved) > 107) throw new Error(`the socket path ${resolved} on R is too long for a Unix socket; give --tunnel-socket a shorter one`);
  return resolved;
}

/** Runs `ssh args` to completion and resolves with its stdout; rejects with a sentence naming what went wrong. */
export function runSsh(ssh: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(ssh, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-4096)));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err = (err + d).slice(-4096)));
    child.on("error", (e) => reject(new Error(`could not run ${ssh}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(out);
      const last = err.trim().split("\n").at(-1)?.slice(0, 300);
      const how = signal !== null ? `killed by ${signal}` : `exited ${code ?? "?"}`;
      reject(new Error(`preparing the socket on R failed (ssh ${how}${last ? `: ${last}` : ""})`));
    });
  });
}

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "@zync/node";
import type { RemoteEnd } from "./remoteSocket.js";
import { sshDestination, type TunnelTarget } from "./tunnelTarget.js";

/** Everything the ssh command line of a managed tunnel is made of. */
export type TunnelCommand = {
  target: TunnelTarget;
  /**
   * R's end: a Unix socket (an absolute path on R: only its user can connect) or a port on R's loopback (any user
   * on R can connect; the token's proof still keeps them out).
   */
  remote: RemoteEnd;
  /** Where the daemon listens on this machine; ssh connects there for each connection R accepts. */
  localHost: string;
  localPort: number;
  /** `--ssh-identity`, passed as `-i`. */
  identity?: string;
  /** `--ssh-option` values, each passed as `-o`. */
  options: readonly string[];
};

/**
 * Options the supervisor relies on; they come first because ssh keeps the first value it is given for an option,
 * so `--ssh-option` cannot turn them off. `-v` makes ssh report when R has accepted the forward.
 */
const REQUIRED = ["-N", "-v", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes"] as const;
/** Defaults that `--ssh-option` may override (ServerAliveInterval=30, say). */
const DEFAULTS = ["-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"] as const;

/** Where ssh should connect on this side: a wildcard listen address is reached through loopback. */
function connectHost(host: string): string {
  const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return h.includes(":") ? `[${h}]` : h;
}

/**
 * For a socket: the socket is created with mode 0600 and a stale one replaced, where R's sshd honours these (it
 * applies its own StreamLocalBindMask, 0177 by default, and StreamLocalBindUnlink; the prep step covers the rest).
 */
const SOCKET_OPTIONS = ["-o", "StreamLocalBindMask=0177", "-o", "StreamLocalBindUnlink=yes"] as const;

/** The arguments of `ssh -N -R REMOTE:LOCALHOST:LOCAL ... [user@]host`, without the program name. */
export function sshTunnelArgs(cmd: TunnelCommand): string[] {
  const listen = cmd.remote.kind === "port" ? String(cmd.remote.port) : cmd.remote.path;
  return [
    ...REQUIRED,
    ...(cmd.identity === undefined ? [] : ["-i", cmd.identity]),
    ...cmd.options.flatMap((o) => ["-o", o]),
    ...DEFAULTS,
    ...(cmd.remote.kind === "socket" ? SOCKET_OPTIONS : []),
    "-R",
    `${listen}:${connectHost(cmd.localHost)}:${cmd.localPort}`,
    ...(cmd.target.port === undefined ? [] : ["-p", String(cmd.target.port)]),
    "--",
    sshDestination(cmd.target),
  ];
}

/** The arguments of `ssh ... [user@]host COMMAND`: one command run on R with the tunnel's own ssh settings. */
export function sshRunArgs(cmd: Pick<TunnelCommand, "target" | "identity" | "options">, command: string): string[] {
  return [
    "-o", "BatchMode=yes",
    ...(cmd.identity === undefined ? [] : ["-i", cmd.identity]),
    ...cmd.options.flatMap((o) => ["-o", o]),
    ...(cmd.target.port === undefined ? [] : ["-p", String(cmd.target.port)]),
    "--",
    sshDestination(cmd.target),
    command,
  ];
}

/** Checks one `--ssh-option` value: `Name=value` or `Name value`, as ssh's -o takes it. */
export function parseSshOption(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*(\s*=\s*|\s+)\S/.test(value)) {
    throw new UsageError(`--ssh-option ${JSON.stringify(value)} is not an ssh option of the form Name=value (for example ServerAliveInterval=30)`);
  }
  return value;
}

/** Checks `--ssh-identity`: a readable file; returns its absolute path. */
export function parseSshIdentity(value: string, cwd = process.cwd()): string {
  const path = resolve(cwd, value);
  let ok: boolean;
  try {
    ok = statSync(path).isFile();
    accessSync(path, constants.R_OK);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--ssh-identity ${path} is not a readable file`);
  return path;
}

/** The absolute path of an executable `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  if (isAbsolute(name)) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

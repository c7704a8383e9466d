import { UsageError, type Logger } from "@zync/node";
import { DEFAULT_TUNNEL_SOCKET, parseTunnelSocket, resolveRemoteSocket, runSsh, socketPrepCommand, type RemoteEnd } from "./remoteSocket.js";
import { findOnPath, parseSshIdentity, parseSshOption, sshRunArgs, sshTunnelArgs } from "./sshCommand.js";
import { SshTunnel } from "./sshTunnel.js";
import { describeTarget, parseRemotePort, parseTunnelTarget, type TunnelTarget } from "./tunnelTarget.js";

/** The tunnel flags as the command line gave them (each possibly repeated, which only --ssh-option allows). */
export type TunnelFlags = {
  tunnel?: unknown;
  remotePort?: unknown;
  tunnelSocket?: unknown;
  sshOptions?: unknown;
  sshIdentity?: unknown;
};

/** A checked `--tunnel` request, ready to start once the daemon's port is known. */
export type TunnelPlan = {
  /** Path of the ssh program. */
  ssh: string;
  target: TunnelTarget;
  /** R's end: the socket (`~/` meaning R's home) unless `--remote-port` asked for a TCP port. */
  remote: RemoteEnd;
  identity?: string;
  options: string[];
};

/** A flag's value as text (the parser may hand over a number, say, for `--tunnel 42`). */
function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : "";
}

function single(flag: string, value: unknown): unknown {
  if (Array.isArray(value)) throw new UsageError(`--${flag} may be given only once`);
  return value;
}

/**
 * Checks the tunnel flags before anything starts: undefined without `--tunnel`, a UsageError (exit 2) for a
 * malformed value, for a tunnel flag without `--tunnel`, or when ssh is not installed.
 */
export function planTunnel(flags: TunnelFlags, path = process.env.PATH ?? ""): TunnelPlan | undefined {
  const tunnel = single("tunnel", flags.tunnel);
  const remotePort = single("remote-port", flags.remotePort);
  const tunnelSocket = single("tunnel-socket", flags.tunnelSocket);
  const identity = single("ssh-identity", flags.sshIdentity);
  const options = flags.sshOptions === undefined ? [] : ([] as unknown[]).concat(flags.sshOptions);
  if (tunnel === undefined) {
    const stray =
      remotePort !== undefined ? "--remote-port" : tunnelSocket !== undefined ? "--tunnel-socket" : identity !== undefined ? "--ssh-identity" : options.length > 0 ? "--ssh-option" : undefined;
    if (stray !== undefined) throw new UsageError(`${stray} only applies together with --tunnel [user@]host`);
    return undefined;
  }
  const target = parseTunnelTarget(text(tunnel));
  if (remotePort !== undefined && tunnelSocket !== undefined) {
    throw new UsageError("--remote-port and --tunnel-socket are two kinds of end on R; give one of them");
  }
  const remote: RemoteEnd =
    remotePort !== undefined
      ? { kind: "port", port: parseRemotePort(Number(remotePort)) }
      : { kind: "socket", path: parseTunnelSocket(tunnelSocket === undefined ? DEFAULT_TUNNEL_SOCKET : text(tunnelSocket)) };
  const checkedOptions = options.map((o) => parseSshOption(text(o)));
  const identityPath = identity === undefined ? undefined : parseSshIdentity(text(identity));
  const ssh = findOnPath("ssh", path);
  if (ssh === undefined) throw new UsageError("--tunnel needs the OpenSSH client, but no 'ssh' program was found on PATH");
  return { ssh, target, remote, options: checkedOptions, ...(identityPath === undefined ? {} : { identity: identityPath }) };
}

/** Starts supervising the planned tunnel to a daemon that listens on `localHost:localPort`. */
export function startTunnel(plan: TunnelPlan, localHost: string, localPort: number, logger: Logger): SshTunnel {
  const base = { target: plan.target, localHost, localPort, options: plan.options, ...(plan.identity === undefined ? {} : { identity: plan.identity }) };
  const remoteName = describeTarget(plan.target);
  const remote = plan.remote;
  if (remote.kind === "port") {
    const tunnel = new SshTunnel({ ssh: plan.ssh, args: sshTunnelArgs({ ...base, remote }), remote, remoteName, logger });
    tunnel.start();
    return tunnel;
  }
  // Before each start: make the socket's folder on R, remove a stale socket, and learn the absolute path.
  const prepare = async (): Promise<{ args: string[]; remote: RemoteEnd }> => {
    const output = await runSsh(plan.ssh, sshRunArgs(base, socketPrepCommand(remote.path)));
    const path = resolveRemoteSocket(remote.path, output);
    return { args: sshTunnelArgs({ ...base, remote: { kind: "socket", path } }), remote: { kind: "socket", path } };
  };
  const tunnel = new SshTunnel({ ssh: plan.ssh, args: [], remote, remoteName, logger, prepare });
  tunnel.start();
  return tunnel;
}

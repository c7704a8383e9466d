import { UsageError } from "@zync/node";

/** Where `--tunnel [user@]host[:sshport]` points: the remote box R, as ssh should reach it. */
export type TunnelTarget = {
  /** Login name on R; absent to let the user's ssh config (or the local name) decide. */
  user?: string;
  /** Host name, ssh config alias or IP address (IPv6 without brackets). */
  host: string;
  /** ssh port on R; absent to let the user's ssh config (or 22) decide. */
  port?: number;
};

/** The remote port R listens on when `--remote-port` is not given. */
export const DEFAULT_REMOTE_PORT = 8000;

// Names that cannot be mistaken for ssh options (no leading '-') or split by a shell or by ssh itself.
const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;

function parsePort(text: string, what: string, whole: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new UsageError(`--tunnel ${JSON.stringify(whole)} has ${what} ${JSON.stringify(text)}; it must be a whole number from 1 to 65535`);
  }
  return port;
}

/**
 * Parses `--tunnel [user@]host[:sshport]`; an IPv6 address goes in brackets (`[::1]:2222`). Throws a UsageError
 * (one sentence) for anything else.
 */
export function parseTunnelTarget(value: string): TunnelTarget {
  const bad = (why: string): UsageError =>
    new UsageError(`--tunnel ${JSON.stringify(value)} is not of the form [user@]host[:sshport] (${why})`);
  if (value.trim() === "") throw bad("it is empty");
  if (/\s/.test(value)) throw bad("it contains a space");

  const at = value.lastIndexOf("@");
  const user = at >= 0 ? value.slice(0, at) : undefined;
  const rest = at >= 0 ? value.slice(at + 1) : value;
  if (user !== undefined && !USER.test(user)) {
    throw bad(user === "" ? "the user name before '@' is empty" : `the user name ${JSON.stringify(user)} may only use letters, digits, '.', '_' and '-'`);
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw bad("the '[' of an IPv6 address is never closed");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad(`unexpected ${JSON.stringify(after)} after the address`);
    portText = after === "" ? undefined : after.slice(1);
    if (!IPV6.test(host) || !host.includes(":")) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(":");
    if (colon >= 0 && rest.indexOf(":", colon + 1) >= 0) throw bad("an IPv6 address must be written in brackets, as [::1]:22");
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
    if (host === "") throw bad("the host is empty");
    if (!HOST.test(host)) throw bad(`the host ${JSON.stringify(host)} may only use letters, digits, '.', '_' and '-', and not start with '-'`);
  }
  const target: TunnelTarget = { host };
  if (user !== undefined) target.user = user;
  if (portText !== undefined) target.port = parsePort(portText, "the ssh port", value);
  return target;
}

/** Checks `--remote-port`: the port R listens on, a whole number from 1 to 65535. */
export function parseRemotePort(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new UsageError("--remote-port must be a whole number from 1 to 65535");
  }
  return value;
}

/** The destination as ssh takes it: `user@host` or `host` (an IPv6 address bare, since the port goes in -p). */
export function sshDestination(target: TunnelTarget): string {
  return target.user === undefined ? target.host : `${target.user}@${target.host}`;
}

/** The target as the user wrote it, for messages. */
export function describeTarget(target: TunnelTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.user === undefined ? "" : `${target.user}@`}${host}${target.port === undefined ? "" : `:${target.port}`}`;
}

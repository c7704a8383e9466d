import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";

/** Longest Unix socket path the kernel takes (sun_path is 108 bytes on Linux, NUL included). */
const MAX_SOCKET_PATH_BYTES = 107;

/** Where the managed tunnel puts its socket on R by default (zync-daemon --tunnel), as `--server` names it. */
export const DEFAULT_SOCKET_SERVER = "unix:~/.zync/zync.sock";

/** The TCP address of a manual `ssh -R 8000:127.0.0.1:8000` tunnel. */
export const DEFAULT_TCP_SERVER = "ws://localhost:8000";

/** A checked `--server` value: a `ws://` or `wss://` URL, or `unix:` and an absolute socket path. */
export type ServerAddress = string;

/**
 * Checks a `--server` value and returns it in the form the connection takes: `ws://HOST:PORT`, `wss://…`, or
 * `unix:/absolute/path` (a leading `~/` is this user's home, a relative path is taken from `cwd`). Returns a
 * sentence saying what is wrong instead, for the command line to print.
 */
export function parseServerAddress(value: string, cwd = process.cwd(), home = homedir()): ServerAddress | { problem: string } {
  if (value.startsWith("unix:")) {
    const raw = value.slice("unix:".length);
    if (raw === "") return { problem: "--server unix: needs the path of the socket, as unix:/home/you/.zync/zync.sock" };
    const path = raw === "~" ? home : raw.startsWith("~/") ? `${home}/${raw.slice(2)}` : isAbsolute(raw) ? raw : resolve(cwd, raw);
    // The WebSocket library splits its socket URLs at the first colon after the path, so a path cannot hold one.
    if (path.includes(":") || path.includes("\0")) return { problem: `--server ${JSON.stringify(value)}: a socket path cannot contain ':' or NUL` };
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      return { problem: `--server ${JSON.stringify(value)}: the socket path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket allows` };
    }
    return `unix:${path}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return { problem: `--server ${JSON.stringify(value)} is neither a URL nor unix:PATH; use e.g. ws://localhost:8000 or unix:~/.zync/zync.sock` };
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    return { problem: `--server must be ws://HOST:PORT, wss://HOST:PORT or unix:PATH, not ${JSON.stringify(value)}` };
  }
  return value;
}

/** The URL the WebSocket library opens for a checked address: `unix:PATH` becomes `ws+unix:PATH:/`. */
export function webSocketUrl(server: ServerAddress): string {
  return server.startsWith("unix:") ? `ws+unix:${server.slice("unix:".length)}:/` : server;
}

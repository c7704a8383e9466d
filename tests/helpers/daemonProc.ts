import { createServer } from "node:net";
import { BIN, spawnBin, type TestDaemon } from "./bins.js";
import { waitFor } from "./waitFor.js";

/** A TCP port that was free a moment ago on 127.0.0.1 (bound to port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts the real daemon on an explicit port (so it can be restarted where a running client expects it) and
 * waits for its `listening on` line. If it never gets there, it is killed before the error is thrown.
 */
export async function startDaemonOnPort(
  port: number,
  dirs: readonly string[],
  opts: { db: string; tokenFile: string; args?: readonly string[] },
): Promise<TestDaemon> {
  const s = spawnBin(BIN.daemon, ["--port", String(port), "--db", opts.db, "--token-file", opts.tokenFile, "--dirs", ...dirs, ...(opts.args ?? [])]);
  const stop = async (): Promise<void> => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGTERM");
    await s.exited;
  };
  let line: RegExpExecArray;
  try {
    line = await Promise.race([
      waitFor(() => /listening on (ws:\/\/\S+)/.exec(s.stdout()), "the daemon's listening line"),
      s.exited.then((code) => Promise.reject(new Error(`daemon exited ${code}: ${s.stderr()}`))),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = line[1]!;
  return { ...s, url, port: Number(new URL(url).port), db: opts.db, tokenFile: opts.tokenFile, stop };
}

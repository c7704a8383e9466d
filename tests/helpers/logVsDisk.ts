import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { RawSocket, readToken } from "./rawSocket.js";
import { waitFor } from "./waitFor.js";

/** A path as compared by hash: "file <xxh64> <x|->", "dir" or "link <target>". */
type Described = Record<string, string>;

/** Every live path of `root` in the daemon's change log, described by content hash. */
export async function loggedByHash(url: string, token: string, root: string): Promise<Described> {
  const sock = await RawSocket.open(url, token);
  try {
    await sock.hello();
    const out: Described = {};
    let since = 0;
    for (let id = 1; ; id++) {
      const { reply } = await sock.exchange({ type: "GET_CHANGES", id, since, root });
      if (reply.type !== "CHANGES") throw new Error(`GET_CHANGES was answered with ${JSON.stringify(reply)}`);
      for (const c of reply.changes as { path: string; state: { kind: string; hash?: string; mode?: number; target?: string } }[]) {
        const s = c.state;
        if (s.kind === "deleted") delete out[c.path];
        else out[c.path] = s.kind === "file" ? `file ${s.hash} ${(s.mode ?? 0) & 0o100 ? "x" : "-"}` : s.kind === "dir" ? "dir" : `link ${s.target}`;
      }
      since = reply.next as number;
      if (reply.more !== true) return out;
    }
  } finally {
    await sock.close();
  }
}

/** A fresh scan of a folder, described the same way. */
export async function diskByHash(dir: string): Promise<Described> {
  const out: Described = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(rel === "" ? dir : `${dir}/${rel}`).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      let st;
      try {
        st = lstatSync(`${dir}/${r}`);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(`${dir}/${r}`)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        await walk(r);
      } else if (st.isFile()) out[r] = `file ${await hashBytes(readFileSync(`${dir}/${r}`))} ${st.mode & 0o100 ? "x" : "-"}`;
    }
  };
  await walk("");
  return out;
}

/** The paths where two descriptions differ, as "path: logged | on disk" lines. */
export function differences(logged: Described, disk: Described): string[] {
  const paths = [...new Set([...Object.keys(logged), ...Object.keys(disk)])].sort();
  return paths.filter((p) => logged[p] !== disk[p]).map((p) => `${p}: ${logged[p] ?? "(absent)"} | ${disk[p] ?? "(absent)"}`);
}

/** Polls until the daemon's log for `root` equals a fresh scan of `dir` by hash; the error lists what differs. */
export async function waitForLogToMatchDisk(url: string, tokenFile: string, root: string, dir: string, timeoutMs = 20_000): Promise<void> {
  const token = readToken(tokenFile);
  let diff: string[] = [];
  try {
    await waitFor(async () => {
      diff = differences(await loggedByHash(url, token, root), await diskByHash(dir));
      return diff.length === 0;
    }, `the daemon's log of ${root} to match ${dir}`, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  ${diff.length} path(s) differ (log | disk):\n  ${diff.slice(0, 40).join("\n  ")}`);
  }
}

import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";

/**
 * Describes a tree as path → "file <sha256> <x|->", "dir" or "link <target>", leaving out zync's temp folder
 * and anything `skip` matches. Two trees are in step when their snapshots are equal.
 */
export function snapshotTree(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = rel === "" ? root : `${root}/${rel}`;
    for (const name of readdirSync(abs).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (r === ".zync-tmp" || skip(r)) continue;
      const st = lstatSync(`${root}/${r}`);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(`${root}/${r}`)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        walk(r);
      } else {
        const hash = createHash("sha256").update(readFileSync(`${root}/${r}`)).digest("hex");
        out[r] = `file ${hash} ${st.mode & 0o100 ? "x" : "-"}`;
      }
    }
  };
  walk("");
  return out;
}

/** lstat, or undefined when nothing is there (a file may stand where a folder on the way was). */
function lstatOrNone(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch {
    return undefined;
  }
}

/**
 * True when the entry at `got` looks like the one at `want` by lstat alone: the same type, and for a file the same
 * size and the permission bits in `modeBits`. A cheap progress probe for kill tests, not a content check.
 */
export function looksLike(want: string, got: string, modeBits: number): boolean {
  const w = lstatOrNone(want);
  const g = lstatOrNone(got);
  if (w === undefined || g === undefined) return w === g;
  if (w.isFile()) return g.isFile() && g.size === w.size && (g.mode & modeBits) === (w.mode & modeBits);
  return w.isDirectory() === g.isDirectory() && w.isSymbolicLink() === g.isSymbolicLink();
}

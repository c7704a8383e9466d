import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

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

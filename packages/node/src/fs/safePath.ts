import { lstatSync, mkdirSync } from "node:fs";
import { ErrorCode, ProtocolError, resolveInside } from "@zync/protocol";
import { isMissing } from "./statKey.js";

/**
 * Resolves wire paths to local paths and makes sure nothing is ever written through a symlink: every existing
 * ancestor between the root and the path must be a real directory. Checked directories are remembered until
 * {@link SafeRoot.forget} is called for them.
 */
export class SafeRoot {
  readonly root: string;
  private readonly checked = new Set<string>();

  constructor(rootAbs: string) {
    this.root = rootAbs;
  }

  /** The local path for `rel`, after checking the wire path and every existing ancestor. */
  async resolve(rel: string): Promise<string> {
    const abs = resolveInside(this.root, rel);
    const segments = rel.split("/");
    let dir = "";
    for (let i = 0; i < segments.length - 1; i++) {
      dir = dir === "" ? segments[i]! : `${dir}/${segments[i]!}`;
      if (this.checked.has(dir)) continue;
      try {
        const st = lstatSync(`${this.root}/${dir}`);
        if (!st.isDirectory()) {
          throw new ProtocolError(ErrorCode.BadPath, `${rel}: ${dir} is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}`);
        }
      } catch (err) {
        if (isMissing(err)) break; // the rest does not exist yet; ensureParent creates it
        throw err;
      }
      this.checked.add(dir);
    }
    return abs;
  }

  /** Creates the missing ancestors of `rel` as real directories, refusing to pass through a symlink. */
  async ensureParent(rel: string): Promise<void> {
    const segments = rel.split("/");
    let dir = "";
    for (let i = 0; i < segments.length - 1; i++) {
      dir = dir === "" ? segments[i]! : `${dir}/${segments[i]!}`;
      if (this.checked.has(dir)) continue;
      const abs = `${this.root}/${dir}`;
      try {
        mkdirSync(abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const st = lstatSync(abs);
      if (!st.isDirectory()) {
        throw new ProtocolError(ErrorCode.BadPath, `${rel}: ${dir} is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}`);
      }
      this.checked.add(dir);
    }
  }

  /** Forgets what is known about `rel` and everything below it (after a removal or a change of kind). */
  forget(rel: string): void {
    for (const dir of this.checked) if (dir === rel || dir.startsWith(`${rel}/`)) this.checked.delete(dir);
  }
}

/**
 * What R's filesystem does with names and modes. A case-insensitive root (exFAT, FAT, an APFS or NTFS volume)
 * lets two names E keeps apart share one slot; some (exFAT, FAT) keep no permission bits at all. This module
 * finds out, per root, and says which spelling actually holds a path's slot.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { foldCase, type EntryState } from "@zync/protocol";
import { TEMP_DIR } from "@zync/node";

/** How a root's filesystem behaves. */
export type RootTraits = {
  /** A file is found under another case of its name. */
  foldsCase: boolean;
  /** Permission bits set with chmod are kept. */
  keepsModes: boolean;
};

/** What a root is taken to be until it was probed: a POSIX filesystem. */
export const POSIX_TRAITS: RootTraits = { foldsCase: false, keepsModes: true };

/** Probes the filesystem holding `rootAbs` with a file in the root's temp folder. */
export function probeRoot(rootAbs: string): RootTraits {
  const dir = `${rootAbs}/${TEMP_DIR}`;
  mkdirSync(dir, { recursive: true });
  const name = `probe-${randomBytes(4).toString("hex")}`;
  const abs = `${dir}/${name}`;
  writeFileSync(abs, "");
  try {
    let foldsCase = true;
    try {
      lstatSync(`${dir}/${name.toUpperCase()}`);
    } catch {
      foldsCase = false;
    }
    chmodSync(abs, 0o640);
    const keepsModes = (lstatSync(abs).mode & 0o777) === 0o640;
    return { foldsCase, keepsModes };
  } finally {
    rmSync(abs, { force: true });
  }
}

/**
 * On a root that keeps no permission bits, what R holds is read with the mode it is meant to have (the first
 * of `sources` of the same kind: the base's, or else E's), so the filesystem's fixed mode is never taken for an
 * edit on R.
 */
export function withIntendedMode(held: EntryState, traits: RootTraits, ...sources: (EntryState | undefined)[]): EntryState {
  if (traits.keepsModes) return held;
  if (held.kind === "file") {
    const source = sources.find((s) => s?.kind === "file");
    return source?.kind === "file" ? { ...held, mode: source.mode } : held;
  }
  if (held.kind === "dir") {
    const source = sources.find((s) => s?.kind === "dir");
    return source?.kind === "dir" ? { ...held, mode: source.mode } : held;
  }
  return held;
}

/** Directory listings of one root, read once per planning pass. */
export class SlotNames {
  private readonly listings = new Map<string, string[] | undefined>();
  private readonly rootAbs: string;

  constructor(rootAbs: string) {
    this.rootAbs = rootAbs;
  }

  private list(dirRel: string): string[] | undefined {
    if (!this.listings.has(dirRel)) {
      let names: string[] | undefined;
      try {
        names = readdirSync(dirRel === "" ? this.rootAbs : `${this.rootAbs}/${dirRel}`);
      } catch {
        names = undefined;
      }
      this.listings.set(dirRel, names);
    }
    return this.listings.get(dirRel);
  }

  /**
   * The spelling that holds `rel`'s slot on disk: `rel` itself when every segment is spelled that way, another
   * spelling when a case variant holds it, or undefined when nothing does.
   */
  actual(rel: string): string | undefined {
    let dir = "";
    for (const segment of rel.split("/")) {
      const names = this.list(dir);
      if (names === undefined) return undefined;
      const found = names.includes(segment) ? segment : names.find((n) => foldCase(n) === foldCase(segment));
      if (found === undefined) return undefined;
      dir = dir === "" ? found : `${dir}/${found}`;
    }
    return dir;
  }

  /** Forgets every listing (after something was renamed). */
  clear(): void {
    this.listings.clear();
  }
}

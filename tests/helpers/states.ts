import type { DeletedState, DirState, FileState, SymlinkState } from "@zync/protocol";
import type { StatKey } from "@zync/node";

/** A file state; the hash is any 16 hex digits, so tests can tell contents apart by name. */
export function fileState(hash: string, opts: { size?: number; mode?: number; mtimeMs?: number } = {}): FileState {
  return { kind: "file", hash, size: opts.size ?? 10, mode: opts.mode ?? 0o644, mtimeMs: opts.mtimeMs ?? 1_700_000_000_000 };
}

export function dirState(mode = 0o755): DirState {
  return { kind: "dir", mode };
}

export function linkState(target: string): SymlinkState {
  return { kind: "symlink", target };
}

export const DELETED: DeletedState = { kind: "deleted" };

/** Distinct valid content hashes. */
export const H1 = "1111111111111111";
export const H2 = "2222222222222222";
export const H3 = "3333333333333333";

/** A stat key with the given inode (and optional overrides), taken long after the file last changed (not racy). */
export function statKey(ino: number, opts: Partial<StatKey> = {}): StatKey {
  return { kind: "file", size: 10, mtimeMs: 1_700_000_000_000, ctimeMs: 1_700_000_000_000, ino, mode: 0o644, takenMs: 1_700_000_100_000, ...opts };
}

import { z } from "zod";
import { isRootName, isWirePath, MAX_PATH_LENGTH } from "./paths.js";

/** A content hash: 64-bit xxHash as 16 lowercase hex digits. */
export const HashSchema = z.string().regex(/^[0-9a-f]{16}$/);

/** A named root, as given in `--dirs name:/path`. */
export const RootNameSchema = z.string().refine(isRootName, "invalid root name");

/** A safe relative POSIX path inside a root. */
export const WirePathSchema = z.string().max(MAX_PATH_LENGTH).refine(isWirePath, "unsafe path");

const seq = z.number().int().nonnegative();
const mode = z.number().int().min(0).max(0o7777);
const mtimeMs = z.number().int();

/** A regular file's state. */
export const FileStateSchema = z.strictObject({
  kind: z.literal("file"),
  /** Content hash. */
  hash: HashSchema,
  /** Size in bytes. */
  size: z.number().int().nonnegative(),
  /** Permission bits (the exec bit is what matters across machines). */
  mode,
  /** Modification time in milliseconds since the epoch. */
  mtimeMs,
});

/** A directory's state. */
export const DirStateSchema = z.strictObject({
  kind: z.literal("dir"),
  /** Permission bits. */
  mode,
});

/** A symbolic link's state. The target is data and is never followed. */
export const SymlinkStateSchema = z.strictObject({
  kind: z.literal("symlink"),
  /** The link's target, exactly as readlink returns it. */
  target: z.string().min(1).max(MAX_PATH_LENGTH).refine((t) => !t.includes("\0"), "NUL in link target"),
});

/** The path no longer exists. */
export const DeletedStateSchema = z.strictObject({
  kind: z.literal("deleted"),
});

/** What a path holds at some sequence number. */
export const EntryStateSchema = z.discriminatedUnion("kind", [
  FileStateSchema,
  DirStateSchema,
  SymlinkStateSchema,
  DeletedStateSchema,
]);

/** One recorded change: the latest state of one path and the sequence number that recorded it. */
export const ChangeSchema = z.strictObject({
  /** Sequence number; strictly increasing across the daemon's database. */
  seq,
  /** The named root the path belongs to. */
  root: RootNameSchema,
  /** The path, relative to the root. */
  path: WirePathSchema,
  /** The path's state after this change. */
  state: EntryStateSchema,
});

export type FileState = z.infer<typeof FileStateSchema>;
export type DirState = z.infer<typeof DirStateSchema>;
export type SymlinkState = z.infer<typeof SymlinkStateSchema>;
export type DeletedState = z.infer<typeof DeletedStateSchema>;
export type EntryState = z.infer<typeof EntryStateSchema>;
export type Change = z.infer<typeof ChangeSchema>;

/**
 * True when two states hold the same content: same kind, hash, target and the permission bits in `modeBits` (by
 * default the exec bits, which are all sync carries meaning for). mtimes are ignored.
 */
export function sameContent(a: EntryState, b: EntryState, modeBits = 0o111): boolean {
  switch (a.kind) {
    case "file":
      return b.kind === "file" && a.hash === b.hash && a.size === b.size && (a.mode & modeBits) === (b.mode & modeBits);
    case "dir":
      return b.kind === "dir";
    case "symlink":
      return b.kind === "symlink" && a.target === b.target;
    case "deleted":
      return b.kind === "deleted";
  }
}

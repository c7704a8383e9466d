import { ErrorCode, ProtocolError, type FileState, type GetVersion } from "@zync/protocol";
import type { IgnoreRules } from "@zync/node";
import type { VersionIndex } from "../store/versionIndex.js";
import type { VersionStore } from "../store/versionStore.js";
import type { HeldContent } from "./contentCache.js";

/** The name of the feature that lets a client fetch stored versions (docs/protocol.md section 14.10). */
export const VERSIONS_FEATURE = "versions";

/**
 * Largest stored version a daemon gives out: the client merges files up to 8 MiB; larger versions (an apply
 * keeps what it replaces whatever its size) are answered NOT_FOUND rather than inflated into memory.
 */
export const MAX_SERVED_VERSION_BYTES = 8 * 1024 * 1024;

/** E's version store and which path each version belongs to, for GET_VERSION. */
export type ServedVersions = { store: VersionStore; index: VersionIndex };

/**
 * The stored version a GET_VERSION asks for, ready to send, after every check: the feature was agreed, the path
 * is one the daemon serves now (`served` resolves it with GET_FILE's rules: a recorded file of a served root,
 * every folder on the way checked, never ignored), and the hash is a version that root's path had on E (served
 * for it, or replaced there by an apply). Anything else is refused, NOT_FOUND with the same sentence whether the
 * version was never that path's or is no longer stored, so a client learns nothing about other paths' content.
 */
export async function servedVersion(
  msg: GetVersion,
  features: ReadonlySet<string>,
  versions: ServedVersions | undefined,
  rules: IgnoreRules | undefined,
  served: (root: string, path: string) => Promise<{ state: FileState }>,
): Promise<HeldContent> {
  if (!features.has(VERSIONS_FEATURE) || versions === undefined) {
    throw new ProtocolError(ErrorCode.BadMessage, "GET_VERSION on a connection that did not agree to feature versions");
  }
  const { state } = await served(msg.root, msg.path);
  if (rules?.ignores(msg.path, false) === true) throw new ProtocolError(ErrorCode.NotFound, `${msg.root}/${msg.path} is not a synced file`);
  const missing = (): ProtocolError => new ProtocolError(ErrorCode.NotFound, `${msg.root}/${msg.path}: E's version store holds no version ${msg.hash} of this path`);
  if (!versions.index.belongs(msg.root, msg.path, msg.hash)) throw missing();
  const bytes = await versions.store.get(msg.hash, MAX_SERVED_VERSION_BYTES);
  if (bytes === undefined) throw missing();
  // A stored version keeps no metadata of its own: FILE_END carries the path's current mode and mtime.
  return { bytes, sent: { hash: msg.hash, size: bytes.byteLength, mode: state.mode & 0o7777, mtimeMs: state.mtimeMs } };
}

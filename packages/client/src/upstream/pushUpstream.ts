import { createHash } from "node:crypto";
import { isSameOrBelow, MAX_FRAME_BYTES, MAX_UPSTREAM_CHANGES, SessionStatus, type UpstreamChange } from "@zync/protocol";
import { loadIgnoreRules, SafeRoot, type Logger, type NamedDir } from "@zync/node";
import type { DaemonConnection } from "../daemonConnection.js";
import { inOrderWindow } from "../pull/inOrderWindow.js";
import type { ClientStore } from "../store/clientStore.js";
import { formatBytes } from "@zync/node";
import { startTransferProgress, type TransferCounters } from "../progress.js";
import { scanUpstream } from "./scanUpstream.js";

/** What one root's upstream push did. */
export type PushResult = {
  root: string;
  /** The session on E, when there was anything to offer. */
  session?: number;
  status?: string;
  /** False when E already had a session with exactly these changes. */
  fresh: boolean;
  changes: number;
  conflicts: number;
  bytes: number;
};

/** Files uploaded at once. */
const UPLOADS = 4;

/** The identity of an offer: the same changes from the same client for the same root give the same key. */
function offerKey(clientId: string, root: string, changes: readonly UpstreamChange[]): string {
  return createHash("sha256").update(JSON.stringify([clientId, root, changes])).digest("hex").slice(0, 32);
}

/**
 * Offers what R changed in one root as an upstream session: PREPARE_UPSTREAM with every change and its base,
 * the content E still needs, then FINALIZE_UPSTREAM. Offering the same changes again finds the same session
 * (resuming it if it was interrupted) instead of staging a duplicate.
 */
export async function pushRoot(
  conn: DaemonConnection,
  store: ClientStore,
  dir: NamedDir,
  ignore: readonly string[],
  logger: Logger,
  paths?: readonly string[],
  counters: TransferCounters = { files: 0, plannedFiles: 0, bytes: 0, plannedBytes: 0 },
): Promise<PushResult> {
  const changes = await scanRoot(store, dir, ignore, paths);
  if (changes.length === 0) return { root: dir.name, fresh: false, changes: 0, conflicts: 0, bytes: 0 };
  if (changes.length > MAX_UPSTREAM_CHANGES) {
    throw new Error(`${dir.name} has ${changes.length} changes; one session carries at most ${MAX_UPSTREAM_CHANGES} (push part of it, e.g. with --ignore)`);
  }
  const key = offerKey(store.clientId(), dir.name, changes);
  if (JSON.stringify(changes).length > MAX_FRAME_BYTES - 4096) {
    throw new Error(`${dir.name}: the list of ${changes.length} changes is larger than one message may be (${MAX_FRAME_BYTES} bytes); push part of it, e.g. with --ignore`);
  }
  const ready = await conn.request({ type: "PREPARE_UPSTREAM", root: dir.name, key, changes });
  if (ready.status !== SessionStatus.Receiving) {
    return { root: dir.name, session: ready.session, status: ready.status, fresh: false, changes: changes.length, conflicts: 0, bytes: 0 };
  }
  // Only files this offer contains are sent, and never through a symlinked folder, whatever the daemon asks for.
  const offered = new Set(changes.filter((c) => c.state.kind === "file").map((c) => c.path));
  const stray = ready.need.find((p) => !offered.has(p));
  if (stray !== undefined) throw new Error(`the daemon asked for ${dir.name}/${stray}, which this offer does not contain`);
  const root = new SafeRoot(dir.abs);
  let bytes = 0;
  const sizes = new Map(changes.map((c) => [c.path, c.state.kind === "file" ? c.state.size : 0]));
  counters.plannedFiles += ready.need.length;
  for (const path of ready.need) counters.plannedBytes += sizes.get(path) ?? 0;
  const uploads = inOrderWindow(ready.need, { count: UPLOADS, bytes: Number.POSITIVE_INFINITY }, () => 0, async (path) => {
    const sent = await conn.uploadFile(ready.session, path, await root.resolve(path));
    logger.verbose(`sent ${dir.name}/${path} (${formatBytes(sent.size)})`);
    bytes += sent.size;
    counters.files += 1;
    counters.bytes += sent.size;
  });
  for (const u of uploads) await u;
  const done = await conn.request({ type: "FINALIZE_UPSTREAM", session: ready.session });
  return { root: dir.name, session: done.session, status: done.status, fresh: true, changes: done.changes, conflicts: done.conflicts, bytes };
}

/** R's changes in one root, optionally only at or below `paths`. */
async function scanRoot(store: ClientStore, dir: NamedDir, ignore: readonly string[], paths?: readonly string[]): Promise<UpstreamChange[]> {
  const all = await scanUpstream(store, dir.name, dir.abs, loadIgnoreRules(dir.abs, ignore, { gitIgnoreFilesAnywhere: true }));
  return paths === undefined ? all : all.filter((c) => paths.some((p) => isSameOrBelow(c.path, p)));
}

/** One change a push would offer, for --dry-run. */
export type PushPreview = { action: "add" | "change" | "delete"; path: string; size: number; conflict: boolean };

/** What a push would offer, without connecting. Paths R already knows to be in conflict with E are flagged. */
export async function previewPush(store: ClientStore, dirs: readonly NamedDir[], ignore: readonly string[], paths?: readonly string[]): Promise<PushPreview[]> {
  const lines: PushPreview[] = [];
  const conflicts = new Set(store.conflicts().map((c) => `${c.root}/${c.path}`));
  for (const dir of dirs) {
    for (const c of await scanRoot(store, dir, ignore, paths)) {
      const action = c.state.kind === "deleted" ? "delete" : c.base === null ? "add" : "change";
      const path = `${dir.name}/${c.path}`;
      lines.push({ action, path, size: c.state.kind === "file" ? c.state.size : 0, conflict: conflicts.has(path) });
    }
  }
  return lines;
}

/**
 * Pushes every root, then prints one line per root. With `progress`, shows how the uploads go (see progress.ts);
 * the lines come after it, so they never land on the bar's line. A root that fails ends the push there.
 */
export async function pushAll(
  conn: DaemonConnection,
  store: ClientStore,
  dirs: readonly NamedDir[],
  ignore: readonly string[],
  logger: Logger,
  paths?: readonly string[],
  progress = false,
): Promise<PushResult[]> {
  const counters: TransferCounters = { files: 0, plannedFiles: 0, bytes: 0, plannedBytes: 0 };
  const shown = progress ? startTransferProgress(() => counters, "pushing") : undefined;
  const results: PushResult[] = [];
  try {
    for (const dir of dirs) results.push(await pushRoot(conn, store, dir, ignore, logger, paths, counters));
  } finally {
    shown?.stop();
    for (const r of results) reportPush(r, logger);
  }
  return results;
}

function reportPush(r: PushResult, logger: Logger): void {
  if (r.session === undefined) logger.info(`${r.root}: nothing changed on R since the last sync; nothing to push`);
  else if (r.fresh) {
    const conflicts = r.conflicts > 0 ? `, ${r.conflicts} in conflict with E's current content` : "";
    logger.info(`${r.root}: staged session ${r.session} on E: ${r.changes} change(s), ${formatBytes(r.bytes)} sent${conflicts}; review it on E with 'zync-apply list'`);
  } else {
    logger.info(`${r.root}: these changes are already staged on E as session ${r.session} (${r.status}); nothing sent`);
  }
}

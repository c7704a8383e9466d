import { ErrorCode, ProtocolError, sameContent, type Change, type EntryState, type FileState } from "@zync/protocol";
import { copyToTemp, FolderNotEmptyError, statKeyAt, moveAside, placeDir, placeSymlink, removeLocal, retouchFile, TempFile, type IgnoreRules, type Logger, type SafeRoot } from "@zync/node";
import { RemoteError, type DaemonConnection } from "../daemonConnection.js";
import type { ClientStore, PageOutcome } from "../store/clientStore.js";
import { decide } from "@zync/protocol";
import { inOrderWindow } from "./inOrderWindow.js";
import { readLocal, unchangedSince, type LocalView } from "./localState.js";

/** Counters and findings of one run, printed at its end. */
export type RunReport = {
  written: number;
  deleted: number;
  bytes: number;
  /** Files taken from another local file with the same content instead of downloaded. */
  copied: number;
  /** Conflicts found or still open, as root/path. */
  conflicts: string[];
  /** Copies of R's content moved aside because --prefer-daemon let E win. */
  keptAside: string[];
  /** With --dry-run: what a real run would do, one line each. */
  preview: PreviewLine[];
  /** Files and bytes this run has planned to fetch so far (for progress). */
  plannedFiles: number;
  plannedBytes: number;
};

/** One thing a dry run found a real run would do. */
export type PreviewLine = { action: "add" | "change" | "delete" | "conflict"; path: string; size: number };

export function emptyReport(): RunReport {
  return { written: 0, deleted: 0, bytes: 0, copied: 0, conflicts: [], keptAside: [], preview: [], plannedFiles: 0, plannedBytes: 0 };
}

/** Everything needed to apply changes to one root. */
export type RootContext = {
  conn: DaemonConnection;
  store: ClientStore;
  name: string;
  root: SafeRoot;
  rules: IgnoreRules;
  /** On a conflict, take E's version and keep R's beside it. */
  preferDaemon: boolean;
  fsync: boolean;
  logger: Logger;
  report: RunReport;
  /** Plan and report only: nothing is fetched, written or recorded. */
  dryRun: boolean;
};

/** A change as applied: the path and E's state (a change from the wire, or a stored conflict retried). */
type Item = { seq: number; path: string; remote: EntryState };

type Planned = Item & { local: LocalView; aside: boolean; content?: Promise<Fetched> };
type Fetched = { temp: TempFile; state: FileState };

/** Files fetched at once; enough to keep the link busy with small files. */
const WINDOW = 32;

/**
 * Applies E's changes to one root, in sequence order, and returns what the store must record. Content is
 * fetched into temp files first (copied from an identical local file when there is one), then each path is
 * checked once more and renamed into place. Anything R changed itself becomes a conflict and stays as it is.
 */
export async function applyChanges(ctx: RootContext, changes: readonly Change[] | readonly Item[]): Promise<PageOutcome> {
  const outcome: PageOutcome = { bases: [], conflicts: [], resolved: [] };
  const items = changes.map((c) => ("state" in c ? { seq: c.seq, path: c.path, remote: c.state } : c));
  const planned: Planned[] = [];
  for (const item of items) {
    if (ctx.rules.ignores(item.path, item.remote.kind === "dir")) continue;
    const p = await plan(ctx, item, outcome);
    if (p) planned.push(p);
  }
  if (ctx.dryRun) {
    for (const p of planned) {
      const action = p.remote.kind === "deleted" ? "delete" : p.local.state.kind === "deleted" ? "add" : "change";
      ctx.report.preview.push({ action, path: `${ctx.name}/${p.path}`, size: p.remote.kind === "file" ? p.remote.size : 0 });
    }
    return { bases: [], conflicts: [], resolved: [] };
  }
  const needContent = planned.filter((p) => p.remote.kind === "file" && (p.aside || !(p.local.state.kind === "file" && p.local.state.hash === p.remote.hash)));
  ctx.report.plannedFiles += needContent.length;
  for (const p of needContent) ctx.report.plannedBytes += (p.remote as FileState).size;
  // Local copies first: a rename on E arrives as a delete and an add, and the delete may come first.
  const toDownload: Planned[] = [];
  for (const p of needContent) {
    const copy = await copyFromLocal(ctx, p.remote as FileState, p.path);
    if (copy) p.content = Promise.resolve(copy);
    else toDownload.push(p);
  }
  const fetched = inOrderWindow(toDownload, WINDOW, (p) => download(ctx, p.path, p.remote as FileState));
  for (const [i, p] of toDownload.entries()) p.content = fetched[i];
  try {
    for (const p of planned) await commit(ctx, p, outcome);
  } finally {
    // Whatever was fetched and not placed (an error stopped the loop) is removed.
    await Promise.all(planned.map((p) => p.content?.then((f) => f.temp.discard(), () => undefined) ?? Promise.resolve()));
  }
  return outcome;
}

async function plan(ctx: RootContext, item: Item, outcome: PageOutcome): Promise<Planned | undefined> {
  const base = ctx.store.base(ctx.name, item.path);
  let local: LocalView | undefined;
  try {
    local = await readLocal(ctx.root, item.path, base);
  } catch (err) {
    if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) {
      // A file or link stands where a folder on the way should be, so nothing can be at this path on R.
      if (item.remote.kind === "deleted") {
        outcome.bases.push({ path: item.path, state: item.remote, key: undefined });
        outcome.resolved.push(item.path);
        return undefined;
      }
      if (await blockerIsFromE(ctx, item.path)) {
        // E replaced that file with a folder; the folder's own change comes first and clears the way.
        const abs = `${ctx.root.root}/${item.path}`;
        local = { abs, state: { kind: "deleted" }, key: undefined };
      } else {
        // R put it in the way, and nothing is ever written through it.
        conflict(ctx, item, outcome);
        return undefined;
      }
    } else {
      throw err;
    }
  }
  switch (decide(item.remote, base?.state, local.state)) {
    case "record":
      outcome.bases.push({ path: item.path, state: item.remote, key: local.key });
      outcome.resolved.push(item.path);
      return undefined;
    case "keep":
      outcome.resolved.push(item.path);
      return undefined;
    case "apply":
      return { ...item, local, aside: false };
    case "conflict":
      if (ctx.preferDaemon) return { ...item, local, aside: true };
      conflict(ctx, item, outcome);
      return undefined;
  }
}

/**
 * True when the file or link that stands where a folder on the way to `rel` should be is one R received from E
 * and has not changed, so E replacing it is not R's business.
 */
async function blockerIsFromE(ctx: RootContext, rel: string): Promise<boolean> {
  const segments = rel.split("/");
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join("/");
    const key = statKeyAt(`${ctx.root.root}/${prefix}`);
    if (key === undefined) return false;
    if (key.kind === "dir") continue;
    const base = ctx.store.base(ctx.name, prefix);
    if (base === undefined) return false;
    const view = await readLocal(ctx.root, prefix, base);
    return sameContent(view.state, base.state);
  }
  return false;
}

function conflict(ctx: RootContext, item: Item, outcome: PageOutcome): void {
  outcome.conflicts.push({ path: item.path, seq: item.seq, remote: item.remote, detectedAt: Date.now() });
  ctx.report.conflicts.push(`${ctx.name}/${item.path}`);
  if (ctx.dryRun) ctx.report.preview.push({ action: "conflict", path: `${ctx.name}/${item.path}`, size: item.remote.kind === "file" ? item.remote.size : 0 });
}

async function commit(ctx: RootContext, p: Planned, outcome: PageOutcome): Promise<void> {
  let fetched: Fetched | undefined;
  try {
    fetched = await p.content;
  } catch (err) {
    if (err instanceof RemoteError && err.code === ErrorCode.NotFound) {
      // E changed the file again after recording it; a later change brings the new state.
      ctx.logger.verbose(`skipped ${ctx.name}/${p.path}: it changed again on E`);
      return;
    }
    throw err;
  }
  if (!(await unchangedSince(p.local))) {
    // R edited the path while this run was fetching: R's edit wins and the path becomes a conflict.
    conflict(ctx, p, outcome);
    return;
  }
  let local = p.local.state;
  if (p.aside && local.kind !== "deleted") {
    ctx.report.keptAside.push(await moveAside(p.local.abs));
    ctx.root.forget(p.path);
    local = { kind: "deleted" };
  }
  const abs = p.local.abs;
  const remote = p.remote;
  let state: EntryState = remote;
  try {
    switch (remote.kind) {
      case "deleted":
        await removeLocal(abs, local);
        ctx.root.forget(p.path);
        ctx.report.deleted++;
        break;
      case "dir":
        if (local.kind !== "dir") await removeLocal(abs, local);
        await ctx.root.ensureParent(p.path);
        await placeDir(abs, remote.mode);
        ctx.report.written++;
        break;
      case "symlink":
        if (local.kind === "dir") await removeLocal(abs, local);
        await ctx.root.ensureParent(p.path);
        await placeSymlink(ctx.root.root, abs, remote.target);
        ctx.report.written++;
        break;
      case "file":
        if (fetched === undefined) {
          await retouchFile(abs, remote.mode, remote.mtimeMs);
        } else {
          if (local.kind === "dir") await removeLocal(abs, local);
          await ctx.root.ensureParent(p.path);
          await fetched.temp.commit(abs);
          state = fetched.state;
        }
        ctx.report.written++;
        break;
    }
  } catch (err) {
    if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) {
      // Something still stands in the way; as a conflict the change is tried again on every run.
      conflict(ctx, p, outcome);
      return;
    }
    if (!(err instanceof FolderNotEmptyError)) throw err;
    if (remote.kind !== "deleted") {
      // E replaced a folder in which R created files: R's files stay, and E's new entry waits as a conflict.
      conflict(ctx, p, outcome);
      return;
    }
    // E removed a folder in which R created files: the folder stays, as R's own.
    ctx.logger.info(`kept ${ctx.name}/${p.path}/: it holds files that only R has`);
    outcome.bases.push({ path: p.path, state: { kind: "deleted" }, key: undefined });
    outcome.resolved.push(p.path);
    return;
  }
  ctx.logger.verbose(`${remote.kind === "deleted" ? "deleted" : "wrote"} ${ctx.name}/${p.path}`);
  outcome.bases.push({ path: p.path, state, key: remote.kind === "deleted" ? undefined : statKeyAt(abs) });
  outcome.resolved.push(p.path);
}

/** Fetches a file from the daemon into a temp file and checks the bytes against the daemon's hash. */
/** Reads of a file whose content differs from the change (it was being rewritten) are tried this often. */
const TORN_READ_ATTEMPTS = 3;

/**
 * Fetches a file from the daemon into a temp file and checks the bytes against the daemon's hash. When what
 * arrives is not the content the change announced, E was rewriting the file while it was read; the read is tried
 * again, so a rewrite with the same content does not leave R with a torn copy. After that the newest content is
 * taken (its own change will follow).
 */
async function download(ctx: RootContext, path: string, remote: FileState, attempt = 1): Promise<Fetched> {
  const temp = await TempFile.create(ctx.root.root);
  try {
    const end = await ctx.conn.getFile(ctx.name, path, remote.hash, (data) => {
      ctx.report.bytes += data.byteLength;
      return temp.write(data);
    });
    const got = await temp.finish({ mode: end.mode, mtimeMs: end.mtimeMs, fsync: ctx.fsync });
    if (got.hash !== end.hash || got.size !== end.size) {
      throw new Error(`${ctx.name}/${path} arrived damaged (hash ${got.hash}, expected ${end.hash})`);
    }
    if (end.hash !== remote.hash && attempt < TORN_READ_ATTEMPTS) {
      await temp.discard();
      return download(ctx, path, remote, attempt + 1);
    }
    return { temp, state: { kind: "file", hash: end.hash, size: end.size, mode: end.mode, mtimeMs: end.mtimeMs } };
  } catch (err) {
    await temp.discard();
    throw err;
  }
}

/** Copies the content from another local file that R holds unchanged with the same hash, if there is one. */
async function copyFromLocal(ctx: RootContext, remote: FileState, path: string): Promise<Fetched | undefined> {
  for (const source of ctx.store.basesWithHash(ctx.name, remote.hash)) {
    if (source.path === path || source.key === undefined) continue;
    let view: LocalView;
    try {
      view = await readLocal(ctx.root, source.path, source);
    } catch {
      continue;
    }
    if (view.state.kind !== "file" || view.state.hash !== remote.hash) continue;
    const temp = await copyToTemp(ctx.root.root, view.abs, remote, ctx.fsync);
    if (temp) {
      ctx.report.copied++;
      return { temp, state: remote };
    }
  }
  return undefined;
}

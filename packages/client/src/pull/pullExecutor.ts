/**
 * The pull executor: reads what R holds, asks the planner (pullPlan.ts) what to do, and does it. Content comes
 * from an injected source (the daemon connection in real runs) into temp files; each chunk of a page is made
 * durable in order: temp files flushed, the placements noted in the store, renamed into place, and their folders
 * flushed (with the next chunk's data, the last at the end). The caller then commits the page's outcome, so a
 * recorded base never claims bytes that are not on disk.
 */
import { ErrorCode, foldCase, isSameOrBelow, ProtocolError, sameContent, type EntryState, type FileState } from "@zync/protocol";
import { renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import {
  copyToTemp,
  hashBytes,
  mergeThreeWay,
  keyProvesUnchanged,
  FolderNotEmptyError,
  moveAside,
  placeDir,
  placeState,
  retouchFile,
  statKeyAt,
  TempFile,
  type IgnoreRules,
  type Logger,
  type SafeRoot,
  type StatKey,
} from "@zync/node";
import type { ClientStore, PageOutcome } from "../store/clientStore.js";
import { emptyOutcome } from "../store/clientStore.js";
import type { Durability } from "./durability.js";
import { inOrderWindow, type WindowLimit } from "./inOrderWindow.js";
import { readLocal, unchangedSince, type LocalView } from "./localState.js";
import { POSIX_TRAITS, SlotNames, withIntendedMode, type RootTraits } from "./rootTraits.js";
import { adoptPlacement, caseRenames, planChange, type LocalFact, type PlanPolicy, type PullAction } from "./pullPlan.js";
import type { RunReport } from "./runReport.js";
import { mergeCandidate, mergeVerdict } from "./mergeOnR.js";

/** What a fetch of one file ends with: exactly what was sent. */
export type FetchedFile = { hash: string; size: number; mode: number; mtimeMs: number };

/** A version of a file that R holds intact (its recorded base), which a source may fetch changes against. */
export type LocalBase = { abs: string; hash: string; size: number };

/** Where file content comes from. */
export type ContentSource = {
  /**
   * Streams the file at `path` (announced with `hash`) into `sink`, in order, and resolves with what was sent. With
   * `base`, the source may send only what differs from it; the bytes given to `sink` are E's file all the same.
   */
  fetch(path: string, hash: string, sink: (data: Uint8Array) => Promise<void>, base?: LocalBase): Promise<FetchedFile>;
  /**
   * Sorts a failed fetch: `torn` when E changed the file while sending it (worth asking again), `gone` when E
   * changed or removed it since (a later change brings it), `skip` with a reason when E cannot read it (its own
   * change follows once it can), `unplaceable` with a reason when E cannot send it now (tried again at every
   * pull), `fatal` when the pass must stop (the connection failed), `base-changed` when a fetch against a base
   * failed because the base changed under it (R edited it): fetched again without one.
   */
  classify(err: unknown): { kind: "torn" | "gone" | "fatal" | "base-changed" } | { kind: "skip" | "unplaceable"; reason: string };
  /**
   * Fetches a past version of the file at `path` by hash from E's version store (feature `versions`), checked
   * against `hash`; undefined when E does not hold it. Absent when the daemon does not serve stored versions.
   */
  version?: (path: string, hash: string) => Promise<Buffer | undefined>;
};

/** Everything the executor needs for one root. */
export type PullContext = {
  name: string;
  root: SafeRoot;
  store: ClientStore;
  rules: IgnoreRules;
  source: ContentSource;
  durability: Durability;
  policy: PlanPolicy;
  logger: Logger;
  report: RunReport;
  /** Plan and report only: nothing is fetched, written or recorded. */
  dryRun: boolean;
  /** Aborted when this pass must stop (its connection went away); checked before every placement. */
  signal?: AbortSignal;
  /** How the root's filesystem treats case and modes; a POSIX filesystem when not given. */
  traits?: RootTraits;
  /**
   * Merges found impossible, by root/path, with the versions they were tried on (E's hash and R's): not tried (or
   * fetched) again until one side changes. Kept across the passes of a live client.
   */
  mergesTried?: Map<string, string>;
  /** Feature git: told as a batch's placement goes (all fetched, renames begin, renames done). */
  onBatch?: (progress: BatchProgress) => void;
};

/**
 * How a batch's placement goes: `fetched` once the content of every file of it is in temp files on R and nothing
 * is placed yet, `placing` just before the first rename, `placed` just after the last.
 */
export type BatchProgress = { root: string; phase: "fetched" | "placing" | "placed"; changes: number; files: number };

/** A change as applied: the path and E's state (from the wire, or an open conflict or unplaced path retried). */
export type PullItem = { seq: number; path: string; remote: EntryState };

/**
 * What is fetched at once: up to 32 MiB of content, so a link's bandwidth-delay product is covered (50 Mbit/s at
 * 40 ms holds 250 KB; 1 Gbit/s at 100 ms 12.5 MB), and up to 512 files, so small files keep such a link busy too
 * (the daemon queues up to MAX_QUEUED_FRAMES of a connection's frames). Memory does not grow with it: content
 * goes to temp files, and what waits for the disk pauses the socket.
 */
export const FETCH_WINDOW: WindowLimit = { count: 512, bytes: 32 * 1024 * 1024 };
/**
 * Actions made durable and placed together: up to 2048 of them, or 64 MiB of content, whichever comes first. One
 * flush (a syncfs) per chunk costs the same for 10 files as for 2000, so small files share one; the bound keeps
 * the temp files waiting for a flush, and the work an interruption loses, small.
 */
const CHUNK = { count: 2048, bytes: 64 * 1024 * 1024 };
/** Reads of a file whose content differs from the change (E was rewriting it) are tried this often. */
const TORN_READ_ATTEMPTS = 3;

type Fetched = { temp: TempFile; state: FileState } | { skipped: "gone" } | { skipped: "skip" | "unplaceable"; reason: string };

/** One planned action with what the executor learnt while reading R's side. */
type Step = { action: PullAction; view: LocalView; content?: Promise<Fetched> };

/** True for an error that concerns one path on R's disk (so it is reported and the pass goes on). */
function isPathError(err: unknown): err is Error {
  if (err instanceof ProtocolError) return err.code === ErrorCode.BadPath;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/** Plain reasons for the errors a write on R's disk commonly meets. */
const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: "R's disk is full",
  EDQUOT: "R's disk quota is used up",
  ENAMETOOLONG: "the name is too long for R's filesystem",
  EACCES: "R does not allow writing there",
  EPERM: "R does not allow writing there",
  EROFS: "R's filesystem is read-only",
};

function reasonOf(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  return REASONS[code] ?? `${code} on R`;
}

/**
 * Applies E's changes to one root, in sequence order, and returns what the store must record. Anything R
 * changed itself becomes a conflict and stays as it is; a path that cannot be placed is reported and skipped,
 * and the rest goes on.
 */
export async function executePage(ctx: PullContext, items: readonly PullItem[], atomic = false): Promise<PageOutcome> {
  const outcome = emptyOutcome();
  const steps: Step[] = [];
  let slots: SlotNames | undefined;
  if (ctx.traits?.foldsCase === true) {
    slots = new SlotNames(ctx.root.root);
    if (!ctx.dryRun) items = renameCases(ctx, items, slots, outcome);
    slots.clear();
  }
  // On a case-insensitive root, the first of two spellings this page places claims the slot.
  const claimed = new Map<string, string>();
  for (const item of items) {
    if (ctx.rules.ignores(item.path, item.remote.kind === "dir")) continue;
    const step = await prepare(ctx, item, outcome, slots, claimed);
    if (step) steps.push(step);
  }
  if (ctx.dryRun) {
    preview(ctx, steps);
    return emptyOutcome();
  }
  try {
    await fetchContent(ctx, steps);
    // Folders whose new entries are not flushed yet: flushed with the next chunk's data, the last ones at the end.
    const unflushed = new Set<string>();
    if (atomic) {
      // A batch (feature git): every file of it is fetched into a temp file on R before anything is placed, then
      // all of it is placed as one chunk, so R's tools see the old tree or the new one, apart from the renames.
      await Promise.allSettled(steps.flatMap((s) => (s.content === undefined ? [] : [s.content])));
      const progress = (phase: BatchProgress["phase"]): void => ctx.onBatch?.({ root: ctx.name, phase, changes: items.length, files: steps.filter(needsContent).length });
      progress("fetched");
      await placeChunk(ctx, steps, outcome, unflushed, { placing: () => progress("placing"), placed: () => progress("placed") });
    } else for (const chunk of chunksOf(steps)) await placeChunk(ctx, chunk, outcome, unflushed);
    await ctx.durability.flush([], [...unflushed]);
  } finally {
    // Whatever was fetched and not placed (the pass stopped) is removed.
    await Promise.all(steps.map((s) => s.content?.then((f) => ("temp" in f ? f.temp.discard() : undefined), () => undefined) ?? Promise.resolve()));
  }
  return outcome;
}

/** Reads R's side of one change and plans it. Steps that need no disk work are settled into `outcome` here. */
async function prepare(ctx: PullContext, item: PullItem, outcome: PageOutcome, slots: SlotNames | undefined, claimed: Map<string, string>): Promise<Step | undefined> {
  const base = ctx.store.base(ctx.name, item.path);
  let view: LocalView;
  let fact: LocalFact;
  try {
    view = await readLocal(ctx.root, item.path, base);
    view = { ...view, state: withIntendedMode(view.state, ctx.traits ?? POSIX_TRAITS, base?.state, item.remote) };
    let actual = slots !== undefined && view.state.kind !== "deleted" ? slots.actual(item.path) : item.path;
    if (slots !== undefined && item.remote.kind !== "deleted") {
      const folded = foldCase(item.path);
      actual = claimed.get(folded) ?? actual;
      if (!claimed.has(folded)) claimed.set(folded, item.path);
    }
    fact = actual !== undefined && actual !== item.path ? { kind: "alias", actual } : { kind: "held", state: view.state };
  } catch (err) {
    if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) {
      view = { abs: `${ctx.root.root}/${item.path}`, state: { kind: "deleted" }, key: undefined };
      fact = { kind: "blocked", fromE: await blockerIsFromE(ctx, item.path) };
    } else if (isPathError(err)) {
      unplaced(ctx, item, outcome, reasonOf(err));
      return undefined;
    } else {
      throw err;
    }
  }
  // A file whose key did not prove it unchanged was read: if it still holds the base, its fresh key is kept
  // (a path whose stored key still proves it is not written again).
  if (base !== undefined && view.key !== undefined && !keyProvesUnchanged(base.key, view.key) && sameContent(view.state, base.state)) {
    outcome.bases.push({ path: item.path, state: base.state, key: view.key });
  }
  const action = planChange({ seq: item.seq, path: item.path, remote: item.remote, base: base?.state, local: fact }, ctx.policy);
  switch (action.kind) {
    case "record":
      if (action.retouch) return { action, view };
      outcome.bases.push({ path: item.path, state: item.remote, key: view.key });
      outcome.resolved.push(item.path);
      return undefined;
    case "keep":
      outcome.resolved.push(item.path);
      return undefined;
    case "forget":
      outcome.bases.push({ path: item.path, state: { kind: "deleted" }, key: undefined });
      outcome.resolved.push(item.path);
      return undefined;
    case "conflict":
      if (action.reason === "case-collision" && fact.kind === "alias") {
        ctx.logger.warn(`${ctx.name}/${item.path} and ${ctx.name}/${fact.actual} are one name on R (its filesystem ignores case): R keeps ${fact.actual}, E keeps both`);
      }
      conflict(ctx, item, outcome);
      return undefined;
    case "write":
      return { action, view };
    case "merge":
      return prepareMerge(ctx, action, view, base?.state, outcome);
  }
}

/**
 * Works out a merge of R's edit with E's change (--merge): fetches the base from E's version store and E's new
 * file, reads R's, and merges them. A clean merge becomes a step whose content is the merged file, placed like any
 * write; anything else leaves the path a conflict, with the reason reported once.
 */
async function prepareMerge(ctx: PullContext, action: PullAction & { kind: "merge" }, view: LocalView, base: EntryState | undefined, outcome: PageOutcome): Promise<Step | undefined> {
  const item = action.input;
  const id = `${ctx.name}/${item.path}`;
  const tried = `${item.remote.kind === "file" ? item.remote.hash : item.remote.kind}:${view.state.kind === "file" ? view.state.hash : view.state.kind}`;
  const keep = (reason: string | undefined): undefined => {
    if (reason !== undefined) {
      ctx.report.notMerged.push({ path: id, reason });
      ctx.mergesTried?.set(id, tried);
    }
    conflict(ctx, item, outcome);
    return undefined;
  };
  const candidate = mergeCandidate({ remote: item.remote, base, local: view.state, versionsAgreed: ctx.source.version !== undefined });
  if (candidate.kind === "no") return keep(candidate.reason);
  // A dry run fetches nothing; the same versions found unmergeable before are not fetched again.
  if (ctx.dryRun || ctx.mergesTried?.get(id) === tried) return keep(undefined);
  const remote = item.remote as FileState;
  const local = view.state as FileState;
  let baseBytes: Buffer | undefined;
  let fetched: Fetched;
  try {
    baseBytes = await ctx.source.version!(item.path, candidate.baseHash);
  } catch (err) {
    if (ctx.source.classify(err).kind === "fatal") throw err;
    // What arrived is not the version asked for (or more than a merge takes): it is never used.
    return keep(`E's stored base could not be used (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    fetched = await download(ctx, item.path, remote, undefined);
  } catch (err) {
    const sorted = ctx.source.classify(err);
    if (sorted.kind === "fatal" && !isPathError(err)) throw err;
    // E changed or removed the file meanwhile: its next change is tried again.
    if (sorted.kind === "gone" || sorted.kind === "torn" || sorted.kind === "base-changed") return keep(undefined);
    return keep(`E's file could not be fetched (${"reason" in sorted ? sorted.reason : err instanceof Error ? err.message : sorted.kind})`);
  }
  if (!("temp" in fetched)) return keep(fetched.skipped === "gone" ? undefined : fetched.reason);
  let eBytes: Buffer;
  try {
    eBytes = await readFile(fetched.temp.path);
  } finally {
    await fetched.temp.discard();
  }
  const rBytes = await readFile(view.abs).catch(() => undefined);
  // R edited the file again meanwhile: its newest edit is merged at the next pull.
  if (rBytes === undefined || (await hashBytes(rBytes)) !== local.hash) return keep(undefined);
  const verdict = mergeVerdict(mergeThreeWay(baseBytes, eBytes, rBytes));
  if (verdict.kind === "no") return keep(verdict.reason);
  ctx.mergesTried?.delete(id);
  if ((await hashBytes(verdict.bytes)) === local.hash) {
    // R's file already holds E's change too: nothing to write, E's version becomes the base.
    merged(ctx, item, outcome, undefined);
    return undefined;
  }
  const temp = await TempFile.create(ctx.root.root);
  try {
    await temp.write(verdict.bytes);
    const mtimeMs = Date.now();
    const got = await temp.finish({ mode: local.mode, mtimeMs, fsync: false });
    return { action, view, content: Promise.resolve({ temp, state: { kind: "file", hash: got.hash, size: got.size, mode: local.mode, mtimeMs } }) };
  } catch (err) {
    await temp.discard();
    throw err;
  }
}

/**
 * Records a merge on R: E's new state becomes the path's base, with no stat key (so R's merged file is read and
 * found to differ from it, and the next --update-upstream offers it as R's edit against E's version).
 */
function merged(ctx: PullContext, item: PullItem, outcome: PageOutcome, placedKey: StatKey | undefined): void {
  ctx.logger.verbose(`merged ${ctx.name}/${item.path}: E's and R's edits are both in R's file`);
  outcome.bases.push({ path: item.path, state: item.remote, key: placedKey });
  outcome.resolved.push(item.path);
  ctx.report.merged.push(`${ctx.name}/${item.path}`);
}

function preview(ctx: PullContext, steps: readonly Step[]): void {
  for (const { action, view } of steps) {
    const { remote, path } = action.input;
    if (action.kind === "record") continue;
    const kind = remote.kind === "deleted" ? "delete" : view.state.kind === "deleted" ? "add" : "change";
    ctx.report.preview.push({ action: kind, path: `${ctx.name}/${path}`, size: remote.kind === "file" ? remote.size : 0 });
  }
}

/** True when a write needs E's bytes (R does not already hold them at the path). */
function needsContent(step: Step): boolean {
  const { action, view } = step;
  if (action.kind !== "write" || action.input.remote.kind !== "file") return false;
  return action.aside || !(view.state.kind === "file" && view.state.hash === action.input.remote.hash);
}

/**
 * Gets the content of every write that needs it. Local copies come first, before anything is placed: a rename on
 * E arrives as a delete and an add, the delete may come first, and R must not download what it already holds.
 * The rest is downloaded through a window that runs ahead of the placements.
 */
async function fetchContent(ctx: PullContext, steps: readonly Step[]): Promise<void> {
  const wanting = steps.filter(needsContent);
  ctx.report.plannedFiles += wanting.length;
  for (const s of wanting) ctx.report.plannedBytes += (s.action.input.remote as FileState).size;
  const toDownload: Step[] = [];
  for (const s of wanting) {
    const copy = await copyFromLocal(ctx, s.action.input.remote as FileState, s.action.input.path);
    if (copy) s.content = Promise.resolve(copy);
    else toDownload.push(s);
  }
  const fetched = inOrderWindow(toDownload, FETCH_WINDOW, (s) => (s.action.input.remote as FileState).size, (s) => download(ctx, s.action.input.path, s.action.input.remote as FileState, intactBase(ctx, s)));
  for (const [i, s] of toDownload.entries()) s.content = fetched[i];
}

/** Splits the steps into chunks of at most {@link CHUNK}'s count and bytes (a step larger than that alone). */
function chunksOf(steps: readonly Step[]): Step[][] {
  const chunks: Step[][] = [];
  let current: Step[] = [];
  let bytes = 0;
  for (const s of steps) {
    const size = needsContent(s) ? (s.action.input.remote as FileState).size : 0;
    if (current.length > 0 && (current.length >= CHUNK.count || bytes + size > CHUNK.bytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The local file a write replaces, when it is R's recorded base untouched (not an edit of R's, not moved aside):
 * a source may fetch only what changed since. The source checks its hash again as it reads it.
 */
function intactBase(ctx: PullContext, step: Step): LocalBase | undefined {
  const { action, view } = step;
  if (action.kind !== "write" || action.aside || view.state.kind !== "file") return undefined;
  const base = ctx.store.base(ctx.name, action.input.path)?.state;
  if (base?.kind !== "file" || base.hash !== view.state.hash) return undefined;
  return { abs: view.abs, hash: base.hash, size: base.size };
}

/**
 * Makes one chunk durable and places it: flush its temp files (with the folders the previous chunk changed),
 * note the placements, rename; the folders it changed join `unflushed`.
 */
async function placeChunk(ctx: PullContext, chunk: readonly Step[], outcome: PageOutcome, unflushed: Set<string>, renames?: { placing(): void; placed(): void }): Promise<void> {
  const fetched = new Map<Step, Fetched>();
  for (const s of chunk) {
    if (s.content === undefined) continue;
    try {
      fetched.set(s, await s.content);
    } catch (err) {
      let sorted = ctx.source.classify(err);
      // Writing the temp file failed on R's disk (full, say): that path is not written, the rest goes on.
      if (sorted.kind === "fatal" && isPathError(err)) sorted = { kind: "unplaceable", reason: reasonOf(err) };
      if (sorted.kind === "fatal") throw err;
      fetched.set(s, "reason" in sorted ? { skipped: sorted.kind, reason: sorted.reason } : { skipped: "gone" });
    }
  }
  await ctx.durability.flush(
    [...fetched.values()].flatMap((f) => ("temp" in f ? [f.temp.path] : [])),
    [...unflushed],
  );
  unflushed.clear();
  ctx.store.notePlacing(
    ctx.name,
    chunk.filter((s) => s.action.kind === "write" && !("skipped" in (fetched.get(s) ?? {}))).map((s) => ({ path: s.action.input.path, state: s.action.input.remote })),
  );
  renames?.placing();
  for (const s of chunk) {
    ctx.signal?.throwIfAborted();
    const f = fetched.get(s);
    const item = s.action.input;
    if (f !== undefined && "skipped" in f) {
      if (f.skipped === "gone") ctx.logger.verbose(`skipped ${ctx.name}/${item.path}: it changed again on E`);
      else if (f.skipped === "skip") ctx.report.unsynced.push({ path: `${ctx.name}/${item.path}`, reason: f.reason });
      else unplaced(ctx, item, outcome, f.reason);
      continue;
    }
    try {
      if (await place(ctx, s, f, outcome)) for (const dir of foldersUpTo(ctx.root.root, s.view.abs)) unflushed.add(dir);
    } catch (err) {
      if (!isPathError(err)) throw err;
      unplaced(ctx, item, outcome, reasonOf(err));
    }
  }
  renames?.placed();
}

/** The folders from `abs`'s parent up to the root: a placement may have created any of them. */
function foldersUpTo(rootAbs: string, abs: string): string[] {
  const dirs: string[] = [];
  for (let dir = abs.slice(0, abs.lastIndexOf("/")); dir.length >= rootAbs.length; dir = dir.slice(0, dir.lastIndexOf("/"))) {
    dirs.push(dir);
    if (dir === rootAbs) break;
  }
  return dirs;
}

/** Places one step on disk and records its outcome; true when something on disk changed. */
async function place(ctx: PullContext, step: Step, fetched: Fetched | undefined, outcome: PageOutcome): Promise<boolean> {
  const item = step.action.input;
  const { abs } = step.view;
  if (!(await unchangedSince(step.view))) {
    // R edited the path while this run was fetching: R's edit wins and the path becomes a conflict.
    conflict(ctx, item, outcome);
    return false;
  }
  const remote = item.remote;
  if (step.action.kind === "record") {
    // R holds E's content; only E's mode and mtime are set.
    if (remote.kind === "file") await retouchFile(abs, remote.mode, remote.mtimeMs);
    else if (remote.kind === "dir") await placeDir(abs, remote.mode);
    done(ctx, item, outcome, remote, statKeyAt(abs), false);
    return false;
  }
  let local = step.view.state;
  if (step.action.kind === "write" && step.action.aside && local.kind !== "deleted") {
    ctx.report.keptAside.push(await moveAside(abs));
    ctx.root.forget(item.path);
    local = { kind: "deleted" };
  }
  // Without fetched bytes R already holds E's content and only its mode and mtime are set.
  const content = fetched !== undefined && "temp" in fetched ? fetched : undefined;
  const state: EntryState = content?.state ?? remote;
  let key: StatKey | undefined;
  try {
    key = await placeState(ctx.root, item.path, abs, local, remote, content?.temp);
    if (step.action.kind === "merge") {
      ctx.report.changed.push({ root: ctx.name, path: item.path });
      // Merged content that is exactly E's is E's file, stat key and all; anything else is R's edit on E's base.
      merged(ctx, item, outcome, remote.kind === "file" && state.kind === "file" && state.hash === remote.hash ? key : undefined);
      return true;
    }
    if (remote.kind === "deleted") ctx.report.deleted++;
    else ctx.report.written++;
    ctx.report.changed.push({ root: ctx.name, path: item.path });
  } catch (err) {
    if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) {
      // Something still stands in the way; as a conflict the change is tried again on every run.
      conflict(ctx, item, outcome);
      return false;
    }
    if (!(err instanceof FolderNotEmptyError)) throw err;
    if (remote.kind !== "deleted") {
      // E replaced a folder in which R created files: R's files stay, and E's new entry waits as a conflict.
      conflict(ctx, item, outcome);
      return false;
    }
    // E removed a folder in which R created files: the folder stays, as R's own.
    ctx.logger.info(`kept ${ctx.name}/${item.path}/: it holds files that only R has`);
    outcome.bases.push({ path: item.path, state: { kind: "deleted" }, key: undefined });
    outcome.resolved.push(item.path);
    return false;
  }
  done(ctx, item, outcome, state, key, true);
  return true;
}

function done(ctx: PullContext, item: PullItem, outcome: PageOutcome, state: EntryState, key: StatKey | undefined, wrote: boolean): void {
  if (wrote) ctx.logger.verbose(`${state.kind === "deleted" ? "deleted" : "wrote"} ${ctx.name}/${item.path}`);
  outcome.bases.push({ path: item.path, state, key: state.kind === "deleted" ? undefined : key });
  outcome.resolved.push(item.path);
}

function conflict(ctx: PullContext, item: PullItem, outcome: PageOutcome): void {
  outcome.conflicts.push({ path: item.path, seq: item.seq, remote: item.remote, detectedAt: Date.now() });
  ctx.report.conflicts.push(`${ctx.name}/${item.path}`);
  if (ctx.dryRun) ctx.report.preview.push({ action: "conflict", path: `${ctx.name}/${item.path}`, size: item.remote.kind === "file" ? item.remote.size : 0 });
}

function unplaced(ctx: PullContext, item: PullItem, outcome: PageOutcome, reason: string): void {
  outcome.unplaced.push({ path: item.path, seq: item.seq, remote: item.remote, reason, at: Date.now() });
  ctx.report.unplaced.push({ path: `${ctx.name}/${item.path}`, reason });
}

/**
 * True when the file or link that stands where a folder on the way to `rel` should be is one R received from E
 * and has not changed, so E replacing it is not R's business.
 */
async function blockerIsFromE(ctx: PullContext, rel: string): Promise<boolean> {
  const segments = rel.split("/");
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join("/");
    const key = statKeyAt(`${ctx.root.root}/${prefix}`);
    if (key === undefined) return false;
    if (key.kind === "dir") continue;
    const base = ctx.store.base(ctx.name, prefix);
    if (base === undefined) return false;
    try {
      const view = await readLocal(ctx.root, prefix, base);
      return sameContent(view.state, base.state);
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Fetches a file into a temp file and checks the bytes against the hash the source says it sent. Only the
 * content the change announced is accepted: when E was rewriting the file while it was read, the read is tried
 * again, and after that the path is skipped (the rewrite's own change follows).
 */
async function download(ctx: PullContext, path: string, remote: FileState, base: LocalBase | undefined): Promise<Fetched> {
  for (let attempt = 1; ; attempt++) {
    const temp = await TempFile.create(ctx.root.root);
    try {
      let end: FetchedFile;
      try {
        end = await ctx.source.fetch(
          path,
          remote.hash,
          (data) => {
            ctx.report.bytes += data.byteLength;
            return temp.write(data);
          },
          base,
        );
      } catch (err) {
        const kind = ctx.source.classify(err).kind;
        if (kind === "base-changed" && base !== undefined) {
          // R changed the base while the delta was applied: what arrived is not E's file. The whole file is fetched
          // instead, and placing it finds R's edit, which then becomes a conflict.
          ctx.logger.verbose(`${ctx.name}/${path} changed on R during a delta transfer; fetching it whole`);
          base = undefined;
          attempt--;
          await temp.discard();
          continue;
        }
        // E rewrote the file while sending it: what arrived is no one version of it, so it is asked for again.
        if (kind !== "torn" || attempt >= TORN_READ_ATTEMPTS) throw err;
        await temp.discard();
        continue;
      }
      // The change's mode and mtime, not those read with the bytes: a chmod or touch on E after the change was
      // recorded, and undone before the daemon looked again, must not stay on R with no change to correct it.
      const got = await temp.finish({ mode: remote.mode, mtimeMs: remote.mtimeMs, fsync: false });
      if (got.hash !== end.hash || got.size !== end.size) {
        throw new Error(`${ctx.name}/${path} arrived damaged (hash ${got.hash}, expected ${end.hash})`);
      }
      if (end.hash === remote.hash) return { temp, state: remote };
      await temp.discard();
      if (attempt >= TORN_READ_ATTEMPTS) return { skipped: "gone" };
    } catch (err) {
      await temp.discard();
      throw err;
    }
  }
}

/** Copies the content from another local file that R holds unchanged with the same hash, if there is one. */
async function copyFromLocal(ctx: PullContext, remote: FileState, path: string): Promise<Fetched | undefined> {
  for (const source of ctx.store.basesWithHash(ctx.name, remote.hash)) {
    if (source.path === path || source.key === undefined) continue;
    let view: LocalView;
    try {
      view = await readLocal(ctx.root, source.path, source);
    } catch {
      continue;
    }
    if (view.state.kind !== "file" || view.state.hash !== remote.hash) continue;
    const temp = await copyToTemp(ctx.root.root, view.abs, remote, false);
    if (temp) {
      ctx.report.copied++;
      return { temp, state: remote };
    }
  }
  return undefined;
}

/**
 * Does the page's case-only renames as renames (see {@link caseRenames}) and returns the page without the
 * deletions they made unnecessary. Each is done only when R holds the old name exactly, untouched since E sent
 * it; the bases move with the files, and are committed at once, so the rest of the page reads the new names.
 */
function renameCases(ctx: PullContext, items: readonly PullItem[], slots: SlotNames, outcome: PageOutcome): readonly PullItem[] {
  const renames = caseRenames(
    items.map((i) => ({ path: i.path, state: i.remote })),
    (p) => ctx.store.base(ctx.name, p) !== undefined,
  );
  const moved: string[] = [];
  for (const { from, to } of renames) {
    const base = ctx.store.base(ctx.name, from);
    const fromAbs = `${ctx.root.root}/${from}`;
    if (base === undefined || slots.actual(from) !== from || base.key === undefined || !keyStillHolds(fromAbs, base.key)) continue;
    const below = ctx.store.bases(ctx.name).filter((b) => isSameOrBelow(b.path, from));
    const moves = below.map((b) => ({ path: to + b.path.slice(from.length), state: b.state, key: b.key }));
    ctx.store.notePlacing(ctx.name, moves);
    try {
      // Through a temp name: some case-insensitive filesystems take a case-only rename as "nothing to do".
      const via = `${fromAbs}.zync-case-${process.pid}`;
      renameSync(fromAbs, via);
      renameSync(via, `${ctx.root.root}/${to}`);
    } catch (err) {
      if (!isPathError(err)) throw err;
      continue;
    }
    ctx.root.forget(from);
    ctx.store.commit(ctx.name, { ...emptyOutcome(), bases: [...below.map((b) => ({ path: b.path, state: { kind: "deleted" } as const, key: undefined })), ...moves] });
    ctx.logger.verbose(`renamed ${ctx.name}/${from} to ${to} (a case-only rename on E)`);
    moved.push(from);
    slots.clear();
  }
  if (moved.length === 0) return items;
  return items.filter((i) => {
    const gone = i.remote.kind === "deleted" && moved.some((m) => isSameOrBelow(i.path, m));
    if (gone) outcome.resolved.push(i.path);
    return !gone;
  });
}

/** True when the entry at `abs` is still the one whose key was stored (a folder: the same folder). */
function keyStillHolds(abs: string, key: StatKey): boolean {
  const now = statKeyAt(abs);
  if (now === undefined || now.kind !== key.kind) return false;
  return now.kind === "dir" ? now.ino === key.ino : now.ino === key.ino && now.size === key.size && now.mtimeMs === key.mtimeMs;
}

/**
 * Finishes what an interrupted run was placing: every noted placement whose content R holds becomes the path's
 * base (the killed run placed it), so it is never taken for an edit on R. The rest is left to the next pull.
 */
export async function recoverPlacements(ctx: PullContext): Promise<PageOutcome | undefined> {
  const placing = ctx.store.placing(ctx.name);
  if (placing.length === 0) return undefined;
  const outcome = emptyOutcome();
  for (const p of placing) {
    try {
      const view = await readLocal(ctx.root, p.path, ctx.store.base(ctx.name, p.path));
      if (adoptPlacement(p.state, view.state)) {
        outcome.bases.push({ path: p.path, state: p.state, key: view.key });
        outcome.resolved.push(p.path);
      }
    } catch {
      // Something stands in the way now: nothing of this placement is there.
    }
  }
  return outcome;
}

import { depthOf, isSameOrBelow, MAX_CHANGES_PER_PAGE, type Change } from "@zync/protocol";
import { ExitCode, ExitError, isMassDeletion, MASS_DELETE_MIN } from "@zync/node";
import type { ChangesPage } from "../daemonConnection.js";
import { executePage, recoverPlacements, type PullContext } from "./pullExecutor.js";
import { contentLosingDeletions } from "./pullPlan.js";
import { latestOfEach, namesBatch, openUntil, placementGroups } from "./placementGroups.js";

/** What a pull may do beyond the defaults. */
export type PullPolicy = {
  /** Only paths at or below these (relative to the root); the cursor then stays where it was. */
  paths?: readonly string[];
  /** Let a pull delete more than the guard allows. */
  allowMassDelete: boolean;
  /** The guard: a pull may delete at most this share of the root's files (when more than `MASS_DELETE_MIN`). */
  maxDeleteShare: number;
  /**
   * Before the guard refuses, read the changes again this many times, this far apart: E may be recording a
   * moved folder's deletions before its additions. The live client waits; a one-shot run refuses at once.
   */
  guardSettle?: { attempts: number; ms: number };
};

/** Raised when a pull would delete a large share of a root; nothing was changed. */
export class MassDeleteError extends ExitError {
  constructor(message: string) {
    super(ExitCode.Failure, message);
    this.name = "MassDeleteError";
  }
}

/** Reads pages of changes from the daemon. */
export type ChangeFeed = (since: number, limit: number) => Promise<ChangesPage>;

/**
 * Brings one root up to date with the daemon: first finishes what an interrupted run was placing, then reads
 * every page of changes after the root's cursor and applies them page by page, then retries the root's other
 * open conflicts and unplaced paths (they may have been resolved). Each page's bases, conflicts and the new
 * cursor are committed together, after its files are durable, so an interrupted run continues from the last
 * page applied.
 *
 * A full comparison (first sync, new daemon database, or a cursor older than the daemon's memory of deletions)
 * reads the whole manifest from 0; afterwards every path R received before but E no longer lists is treated as
 * deleted on E, under the same rule that R's own edits are kept.
 *
 * Before anything is written, a pull that would delete more than the policy's share of the root's files is
 * refused (an unmounted disk or a mistaken `rm -rf` on E must not empty R). Content that the same pull brings
 * back under another name (a rename, a moved folder) does not count as deleted.
 */
export async function pullRoot(ctx: PullContext, feed: ChangeFeed, horizon: number, policy: PullPolicy, pageSize = MAX_CHANGES_PER_PAGE): Promise<number> {
  const { store, name } = ctx;
  const inScope = (path: string): boolean => policy.paths === undefined || policy.paths.some((p) => isSameOrBelow(path, p));
  const commit = ctx.dryRun ? () => undefined : store.commit.bind(store);

  if (!ctx.dryRun) {
    const recovered = await recoverPlacements(ctx);
    if (recovered !== undefined) commit(name, recovered);
  }

  let { seq, resync } = store.cursor(name);
  const start = seq;
  if (seq < horizon) resync = true;
  // A comparison interrupted earlier starts again from 0, so the set of listed paths is complete.
  if (resync) seq = 0;

  if (!ctx.dryRun && policy.paths === undefined && firstSync(ctx)) return pullAsItComes(ctx, feed, seq, resync, pageSize);

  // Read every page first (metadata only): the deletion guard needs the whole picture before anything is written.
  const settle = ctx.dryRun ? undefined : policy.guardSettle;
  let pages: ChangesPage[];
  let listed: Set<string> | undefined;
  let finalSeq: number;
  let gone: Change[];
  for (let attempt = 0; ; attempt++) {
    pages = [];
    for (let since = seq; ; ) {
      const page = await feed(since, pageSize);
      pages.push(page);
      since = page.next;
      if (!page.more) break;
    }
    listed = resync ? new Set(pages.flatMap((p) => p.changes.map((c) => c.path))) : undefined;
    finalSeq = pages[pages.length - 1]!.next;
    const seen = listed;
    gone = seen
      ? store
          .bases(name)
          .filter((b) => !seen.has(b.path))
          .sort((a, b) => depthOf(b.path) - depthOf(a.path))
          .map((b) => ({ seq: finalSeq, root: name, path: b.path, state: { kind: "deleted" } }))
      : [];
    const refusal = guardDeletions(ctx, policy, [...pages.flatMap((p) => p.changes), ...gone].filter((c) => inScope(c.path)));
    if (refusal === undefined) break;
    if (settle === undefined || attempt >= settle.attempts) {
      if (ctx.dryRun) {
        ctx.logger.warn(`a real pull would refuse: ${refusal}`);
        break;
      }
      throw new MassDeleteError(refusal);
    }
    ctx.logger.verbose(`${name}: this pull would delete many files; reading E's changes again in case the rest of a move is still being recorded`);
    await new Promise((resolve) => setTimeout(resolve, settle.ms));
  }

  // With --paths only part of each page is applied, so the cursor must not move past the rest.
  const restricted = policy.paths !== undefined;
  const asItems = (changes: readonly Change[]) => changes.filter((c) => inScope(c.path)).map((c) => ({ seq: c.seq, path: c.path, remote: c.state }));
  // Feature git: the pages of a batch are placed as one unit (placementGroups.ts); any other page alone, as it was.
  for (const group of placementGroups(pages, name)) {
    const changes = group.pages.flatMap((i) => pages[i]!.changes);
    const outcome = await executePage(ctx, asItems(group.pages.length > 1 ? latestOfEach(changes) : changes), group.atomic);
    // During a full comparison the flag stays set until the deletions below are committed too.
    commit(name, outcome, restricted ? undefined : { seq: pages[group.pages[group.pages.length - 1]!]!.next, resync });
  }
  if (listed !== undefined) commit(name, await executePage(ctx, asItems(gone)), restricted ? undefined : { seq: finalSeq, resync: false });

  // Open conflicts and unplaced paths this pull did not bring news of are tried again: they may be resolved now.
  const touched = new Set([...pages.flatMap((p) => p.changes.map((c) => c.path)), ...gone.map((c) => c.path)]);
  const retry = [...store.conflicts(name), ...store.unplaced(name)].filter((c) => inScope(c.path) && !touched.has(c.path));
  if (retry.length > 0) commit(name, await executePage(ctx, retry.map((c) => ({ seq: c.seq, path: c.path, remote: c.remote }))));
  return restricted || ctx.dryRun ? start : finalSeq;
}

/** True when R holds nothing of the root yet and has nothing open in it: a pull cannot lose anything R has. */
function firstSync(ctx: PullContext): boolean {
  const { store, name } = ctx;
  return !store.holdsAny(name) && store.conflicts(name).length === 0 && store.unplaced(name).length === 0;
}

/**
 * A first sync applies each page as it arrives instead of reading them all first: with nothing held on R the
 * deletion guard cannot refuse, no path R holds can be missing from E's list, and nothing open waits to be
 * retried, so the outcome is the same, and the client never holds the whole manifest of a large tree at once.
 */
async function pullAsItComes(ctx: PullContext, feed: ChangeFeed, since: number, resync: boolean, pageSize: number): Promise<number> {
  // Feature git: pages are gathered while a batch they name is not read to its end, then placed as one unit.
  let group: ChangesPage[] = [];
  let open = 0;
  for (;;) {
    const page = await feed(since, pageSize);
    group.push(page);
    open = openUntil(open, page, ctx.name);
    since = page.next;
    if (page.next >= open || !page.more) {
      const changes = group.length > 1 ? latestOfEach(group.flatMap((p) => p.changes)) : page.changes;
      const atomic = group.some((p) => namesBatch(p, ctx.name));
      const outcome = await executePage(ctx, changes.map((c) => ({ seq: c.seq, path: c.path, remote: c.state })), atomic);
      // During a full comparison the flag stays set until the last page is committed.
      ctx.store.commit(ctx.name, outcome, { seq: since, resync: resync && page.more });
      group = [];
      open = 0;
    }
    if (!page.more) return since;
  }
}

/** Why a pull that would lose more than the allowed share of the files R holds in this root must be refused. */
function guardDeletions(ctx: PullContext, policy: PullPolicy, changes: readonly Change[]): string | undefined {
  if (policy.allowMassDelete) return undefined;
  // Without more than MASS_DELETE_MIN changes away from a file nothing can be a mass deletion, and R's bases (the
  // whole root) need not be read: a live save costs no more on a large tree than on a small one.
  if (changes.filter((c) => c.state.kind !== "file").length <= MASS_DELETE_MIN) return undefined;
  const files = ctx.store.bases(ctx.name).filter((b) => b.state.kind === "file");
  const held = new Map(files.map((b) => [b.path, b.state]));
  if (!isMassDeletion(contentLosingDeletions(changes, (path) => held.get(path)), files.length, policy.maxDeleteShare)) return undefined;
  const deleting = changes.filter((c) => c.state.kind !== "file" && held.has(c.path)).length;
  return `this pull would delete ${deleting} of the ${files.length} files R holds in ${ctx.name} (more than ${Math.round(policy.maxDeleteShare * 100)}%); nothing was changed. If E really lost them on purpose, run again with --allow-mass-delete`;
}

import { depthOf, isSameOrBelow, MAX_CHANGES_PER_PAGE, type Change } from "@zync/protocol";
import { ExitCode, ExitError, isMassDeletion } from "@zync/node";
import type { ChangesPage } from "../daemonConnection.js";
import { applyChanges, type RootContext } from "./applyChanges.js";

/** What a pull may do beyond the defaults. */
export type PullPolicy = {
  /** Only paths at or below these (relative to the root); the cursor then stays where it was. */
  paths?: readonly string[];
  /** Let a pull delete more than the guard allows. */
  allowMassDelete: boolean;
  /** The guard: a pull may delete at most this share of the root's files (when more than `MASS_DELETE_MIN`). */
  maxDeleteShare: number;
};

/** Raised when a pull would delete a large share of a root; nothing was changed. */
export class MassDeleteError extends ExitError {
  constructor(message: string) {
    super(ExitCode.Failure, message);
    this.name = "MassDeleteError";
  }
}

/**
 * Brings one root up to date with the daemon: reads every page of changes after the root's cursor and applies
 * them page by page, then retries the root's other open conflicts (they may have been resolved). Each
 * page's files, bases, conflicts and the new cursor are committed together, so an interrupted run continues
 * from the last page applied.
 *
 * A full comparison (first sync, new daemon database, or a cursor older than the daemon's memory of deletions)
 * reads the whole manifest from 0; afterwards every path R received before but E no longer lists is treated as
 * deleted on E, under the same rule that R's own edits are kept.
 *
 * Before anything is written, a pull that would delete more than the policy's share of the root's files is
 * refused (an unmounted disk or a mistaken `rm -rf` on E must not empty R).
 */
export async function pullRoot(ctx: RootContext, horizon: number, policy: PullPolicy, pageSize = MAX_CHANGES_PER_PAGE): Promise<number> {
  const { store, name } = ctx;
  const inScope = (path: string): boolean => policy.paths === undefined || policy.paths.some((p) => isSameOrBelow(path, p));
  const commit = ctx.dryRun ? () => undefined : store.commit.bind(store);

  let { seq, resync } = store.cursor(name);
  const start = seq;
  if (seq < horizon) resync = true;
  // A comparison interrupted earlier starts again from 0, so the set of listed paths is complete.
  if (resync) seq = 0;

  // Read every page first (metadata only): the deletion guard needs the whole picture before anything is written.
  const pages: ChangesPage[] = [];
  for (let since = seq; ; ) {
    const page = await ctx.conn.request({ type: "GET_CHANGES", since, root: name, limit: pageSize });
    pages.push(page);
    since = page.next;
    if (!page.more) break;
  }
  const listed = resync ? new Set(pages.flatMap((p) => p.changes.map((c) => c.path))) : undefined;
  const finalSeq = pages[pages.length - 1]!.next;
  const gone: Change[] = listed
    ? store
        .bases(name)
        .filter((b) => !listed.has(b.path))
        .sort((a, b) => depthOf(b.path) - depthOf(a.path))
        .map((b) => ({ seq: finalSeq, root: name, path: b.path, state: { kind: "deleted" } }))
    : [];
  guardDeletions(ctx, policy, [...pages.flatMap((p) => p.changes), ...gone].filter((c) => inScope(c.path)));

  // With --paths only part of each page is applied, so the cursor must not move past the rest.
  const restricted = policy.paths !== undefined;
  for (const page of pages) {
    const outcome = await applyChanges(ctx, page.changes.filter((c) => inScope(c.path)));
    // During a full comparison the flag stays set until the deletions below are committed too.
    commit(name, outcome, restricted ? undefined : { seq: page.next, resync });
  }
  if (listed !== undefined) commit(name, await applyChanges(ctx, gone.filter((c) => inScope(c.path))), restricted ? undefined : { seq: finalSeq, resync: false });

  // Open conflicts this pull did not bring news of are tried again: R may have resolved them meanwhile.
  const touched = new Set([...pages.flatMap((p) => p.changes.map((c) => c.path)), ...gone.map((c) => c.path)]);
  const open = store.conflicts(name).filter((c) => inScope(c.path) && !touched.has(c.path));
  if (open.length > 0) commit(name, await applyChanges(ctx, open.map((c) => ({ seq: c.seq, path: c.path, remote: c.remote }))));
  return restricted || ctx.dryRun ? start : finalSeq;
}

/** Refuses a pull that would delete more than the allowed share of the files R holds in this root. */
function guardDeletions(ctx: RootContext, policy: PullPolicy, changes: readonly Change[]): void {
  if (policy.allowMassDelete) return;
  const files = ctx.store.bases(ctx.name).filter((b) => b.state.kind === "file");
  const held = new Set(files.map((b) => b.path));
  const deleting = changes.filter((c) => c.state.kind === "deleted" && held.has(c.path)).length;
  if (!isMassDeletion(deleting, files.length, policy.maxDeleteShare)) return;
  const message = `this pull would delete ${deleting} of the ${files.length} files R holds in ${ctx.name} (more than ${Math.round(policy.maxDeleteShare * 100)}%); nothing was changed. If E really lost them on purpose, run again with --allow-mass-delete`;
  if (ctx.dryRun) ctx.logger.warn(`a real pull would refuse: ${message}`);
  else throw new MassDeleteError(message);
}

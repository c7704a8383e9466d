import { depthOf, MAX_CHANGES_PER_PAGE, type Change } from "@zync/protocol";
import { applyChanges, type RootContext } from "./applyChanges.js";

/**
 * Brings one root up to date with the daemon: first retries the root's open conflicts (they may have been
 * resolved), then reads pages of changes after the root's cursor. Each page's files, bases, conflicts and the
 * new cursor are committed together, so an interrupted run continues from the last page applied.
 *
 * A full comparison (first sync, new daemon database, or a cursor older than the daemon's memory of deletions)
 * reads the whole manifest from 0; afterwards every path R received before but E no longer lists is treated as
 * deleted on E, under the same rule that R's own edits are kept.
 */
export async function pullRoot(ctx: RootContext, horizon: number, pageSize = MAX_CHANGES_PER_PAGE): Promise<number> {
  const { store, name } = ctx;
  const open = store.conflicts(name);
  if (open.length > 0) {
    store.commit(name, await applyChanges(ctx, open.map((c) => ({ seq: c.seq, path: c.path, remote: c.remote }))));
  }

  let { seq, resync } = store.cursor(name);
  if (seq < horizon) resync = true;
  // A comparison interrupted earlier starts again from 0, so the set of listed paths is complete.
  if (resync) seq = 0;
  const listed = resync ? new Set<string>() : undefined;

  for (;;) {
    const page = await ctx.conn.request({ type: "GET_CHANGES", since: seq, root: name, limit: pageSize });
    for (const c of page.changes) listed?.add(c.path);
    const outcome = await applyChanges(ctx, page.changes);
    seq = page.next;
    // During a full comparison the flag stays set until the deletions below are committed too.
    store.commit(name, outcome, { seq, resync });
    if (!page.more) break;
  }

  if (listed !== undefined) {
    const gone: Change[] = store
      .bases(name)
      .filter((b) => !listed.has(b.path))
      .sort((a, b) => depthOf(b.path) - depthOf(a.path))
      .map((b) => ({ seq, root: name, path: b.path, state: { kind: "deleted" } }));
    store.commit(name, await applyChanges(ctx, gone), { seq, resync: false });
  }
  return seq;
}

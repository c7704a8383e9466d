import { reviewSession, type ReviewedChange, type SessionSummary } from "@zync/daemon";
import { escapeControl, UsageError } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";

/** A session with its root's folder on E. */
export type FoundSession = { session: SessionSummary; rootAbs: string };

/** Looks a session up by the id given on the command line; a sentence and exit 2 when it is not there. */
export function findSession(ctx: ReviewContext, idText: string): FoundSession {
  const id = Number(idText);
  const session = Number.isInteger(id) && id > 0 ? ctx.staging.get(id) : undefined;
  if (!session) throw new UsageError(`there is no session ${escapeControl(JSON.stringify(idText))}; 'zync-apply list --all' shows every session`);
  const rootAbs = ctx.rootPath(session.root);
  if (rootAbs === undefined) {
    throw new UsageError(`session ${id} is for root ${session.root}, which this database does not name; pass --dirs ${session.root}:/path`);
  }
  return { session, rootAbs };
}

/**
 * A change that a killed zync-apply had begun to write (its placement was noted) and left half done: E's entry
 * removed, R's not there yet. Writing it was decided already (by a person, or by the rules), and E's file, if
 * there was one, is kept: it is finished, not shown as a conflict with the gap the run left. Any other state E
 * holds now is judged as usual (R's state: recorded as applied; E's own state or a new edit: as any change).
 */
export function resumeInterrupted(c: ReviewedChange): ReviewedChange {
  const { placing } = c;
  if (placing === null || c.outcome !== "pending" || c.refused !== undefined || c.blocked !== undefined) return c;
  if (c.current.kind !== "deleted" || placing.kind === "deleted" || c.state.kind === "deleted") return c;
  const resumed: ReviewedChange = { ...c, decision: "apply" };
  delete resumed.flagged;
  delete resumed.confirm;
  return resumed;
}

/** Every change of a session judged against E now, with interrupted placements resumed. */
export async function reviewFound(ctx: ReviewContext, found: FoundSession): Promise<ReviewedChange[]> {
  return (await reviewSession(ctx.staging, found.session.id, found.rootAbs, ctx.rulesFor(found.session.root, found.rootAbs))).map(resumeInterrupted);
}

/**
 * The order in which changes can be applied: deletions first, deepest first, then the rest in their staged order.
 * A folder made a file (or a link) on R is offered with the deletions of what the folder held, in any order;
 * the folder can only be replaced once they are done.
 */
export function applyOrder<T extends { path: string; state: { kind: string } }>(changes: readonly T[]): T[] {
  const depth = (p: string): number => p.split("/").length;
  const deletions = changes.filter((c) => c.state.kind === "deleted");
  const rest = changes.filter((c) => c.state.kind !== "deleted");
  // Array.prototype.sort is stable: deletions at one depth keep their staged order.
  return [...deletions.sort((a, b) => depth(b.path) - depth(a.path)), ...rest];
}

/** The session's changes still pending, judged against E now, conflicts first (each group in {@link applyOrder}). */
export async function pendingReview(ctx: ReviewContext, found: FoundSession): Promise<ReviewedChange[]> {
  const all = (await reviewFound(ctx, found)).filter((c) => c.outcome === "pending");
  return [...applyOrder(all.filter((c) => c.decision === "conflict")), ...applyOrder(all.filter((c) => c.decision !== "conflict"))];
}

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

/** The session's changes still pending, judged against E now, conflicts first (in their staged order). */
export async function pendingReview(ctx: ReviewContext, found: FoundSession): Promise<ReviewedChange[]> {
  const all = (await reviewSession(ctx.staging, found.session.id, found.rootAbs, ctx.rulesFor(found.session.root, found.rootAbs))).filter((c) => c.outcome === "pending");
  return [...all.filter((c) => c.decision === "conflict"), ...all.filter((c) => c.decision !== "conflict")];
}

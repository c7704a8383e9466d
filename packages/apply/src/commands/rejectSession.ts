import { SessionStatus } from "@zync/protocol";
import { SessionStateError } from "@zync/daemon";
import { ExitCode, ExitError } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";
import { withReviewLease } from "../reviewLease.js";
import { findSession } from "./sessionLookup.js";

/** Discards a session's pending changes without touching E's files (holding its review lease while it does). */
export async function rejectSession(ctx: ReviewContext, idText: string, out: (line: string) => void): Promise<number> {
  const { session } = findSession(ctx, idText);
  if (session.status !== SessionStatus.Pending && session.status !== SessionStatus.Partial && session.status !== SessionStatus.Receiving) {
    throw new ExitError(ExitCode.Failure, `session ${session.id} is ${session.status}; there is nothing to reject`);
  }
  await withReviewLease(ctx.staging, session.id, async () => {
    try {
      ctx.staging.reject(session.id, process.pid);
    } catch (err) {
      if (err instanceof SessionStateError) throw new ExitError(ExitCode.Failure, err.message);
      throw err;
    }
  });
  out(`session ${session.id} rejected; E's files were not touched`);
  return ExitCode.Ok;
}

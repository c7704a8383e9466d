import { SessionStatus } from "@zync/protocol";
import { ExitCode, ExitError } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";
import { findSession } from "./sessionLookup.js";

/** Discards a session's pending changes without touching E's files. */
export function rejectSession(ctx: ReviewContext, idText: string, out: (line: string) => void): number {
  const { session } = findSession(ctx, idText);
  if (session.status !== SessionStatus.Pending && session.status !== SessionStatus.Partial && session.status !== SessionStatus.Receiving) {
    throw new ExitError(ExitCode.Failure, `session ${session.id} is ${session.status}; there is nothing to reject`);
  }
  ctx.staging.reject(session.id);
  out(`session ${session.id} rejected; E's files were not touched`);
  return ExitCode.Ok;
}

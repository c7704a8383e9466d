import { reviewSession } from "@zync/daemon";
import type { ReviewContext } from "../reviewContext.js";
import { describeState, kindOf } from "../render/describe.js";
import type { Paint } from "../render/colors.js";
import { findSession } from "./sessionLookup.js";

/** Prints every change of a session: what it does, whether it conflicts with E now, and what became of it. */
export async function showSession(ctx: ReviewContext, idText: string, opts: { json: boolean }, out: (line: string) => void, paint: Paint): Promise<void> {
  const found = findSession(ctx, idText);
  const { session } = found;
  const reviewed = await reviewSession(ctx.staging, session.id, found.rootAbs);
  const changes = reviewed.map((c) => ({
    path: c.path,
    kind: kindOf(c),
    type: c.state.kind === "deleted" ? (c.base?.kind ?? "deleted") : c.state.kind,
    size: c.state.kind === "file" ? c.state.size : 0,
    conflict: c.outcome === "pending" && c.decision === "conflict",
    outcome: c.outcome,
  }));
  if (opts.json) {
    out(JSON.stringify({ id: session.id, status: session.status, root: session.root, client: session.clientId, created: new Date(session.createdAt).toISOString(), changes }, null, 2));
    return;
  }
  const conflicts = changes.filter((c) => c.conflict).length;
  out(paint.bold(`session ${session.id} (${session.status}) for root ${session.root} at ${found.rootAbs}: ${changes.length} change(s), ${conflicts} in conflict with E`));
  reviewed.forEach((c, i) => {
    const ch = changes[i]!;
    const mark = ch.conflict ? paint.red("CONFLICT") : ch.outcome !== "pending" ? paint.dim(ch.outcome.padEnd(8)) : c.decision === "record" ? paint.dim("same    ") : "        ";
    out(`  ${mark} ${ch.kind.padEnd(7)} ${c.path}  ${paint.dim(describeState(c.state))}`);
  });
}

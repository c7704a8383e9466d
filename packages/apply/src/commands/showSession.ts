import { escapeControl, terminalJson } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";
import { describeState, kindOf, reasonOf } from "../render/describe.js";
import type { Paint } from "../render/colors.js";
import { findSession, reviewFound } from "./sessionLookup.js";

/** Prints every change of a session: what it does, whether it conflicts with E now, and what became of it. */
export async function showSession(ctx: ReviewContext, idText: string, opts: { json: boolean }, out: (line: string) => void, paint: Paint): Promise<void> {
  const found = findSession(ctx, idText);
  const { session } = found;
  const reviewed = await reviewFound(ctx, found);
  const changes = reviewed.map((c) => {
    const open = c.outcome === "pending";
    const refused = open && c.refused !== undefined;
    const conflict = open && !refused && c.decision === "conflict";
    return {
      path: c.path,
      kind: kindOf(c),
      type: c.state.kind === "deleted" ? (c.base?.kind ?? "deleted") : c.state.kind,
      size: c.state.kind === "file" ? c.state.size : 0,
      conflict,
      outcome: c.outcome,
      /** Why it conflicts or will be refused (a link out of the root, an ignore file, a path E does not serve), or null. */
      reason: conflict || refused ? (c.refused ?? c.blocked ?? c.confirm ?? c.flagged ?? "changed on E too") : null,
      /** Where E's previous version of the file this change overwrote or deleted is kept, or null. */
      kept: c.replaced === null ? null : ctx.staging.replacedPath(session.id, c.replaced),
    };
  });
  if (opts.json) {
    out(terminalJson({ id: session.id, status: session.status, root: session.root, client: session.clientId, created: new Date(session.createdAt).toISOString(), changes }));
    return;
  }
  const conflicts = changes.filter((c) => c.conflict).length;
  const reviewer = session.reviewer === null ? "" : `, under review by pid ${session.reviewer}`;
  out(paint.bold(`session ${session.id} (${session.status}${reviewer}) for root ${session.root} at ${escapeControl(found.rootAbs)}: ${changes.length} change(s), ${conflicts} in conflict with E`));
  out(paint.dim(`  from client ${escapeControl(session.clientId)}`));
  reviewed.forEach((c, i) => {
    const ch = changes[i]!;
    const mark = ch.conflict ? paint.red("CONFLICT") : ch.reason !== null ? paint.red("REFUSED ") : ch.outcome !== "pending" ? paint.dim(ch.outcome.padEnd(8)) : c.decision === "record" ? paint.dim("same    ") : "        ";
    const why = ch.reason !== null && (ch.conflict ? ch.reason !== "changed on E too" : true) ? `  ${paint.yellow(reasonOf(c))}` : "";
    out(`  ${mark} ${ch.kind.padEnd(7)} ${escapeControl(c.path)}  ${paint.dim(describeState(c.state))}${why}`);
    if (ch.kept !== null) out(paint.dim(`           E's previous version kept at ${escapeControl(ch.kept)}`));
  });
}

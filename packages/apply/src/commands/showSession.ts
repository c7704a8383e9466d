import type { ReviewedChange } from "@zync/daemon";
import { escapeControl, terminalJson } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";
import { planMerge } from "../merge/mergeChange.js";
import { describeState, kindOf, reasonOf } from "../render/describe.js";
import type { Paint } from "../render/colors.js";
import { folderLabel, groupByFolder, groupCounts, GROUP_FROM, pathInGroup } from "../render/folderGroups.js";
import { mergeNote, type MergeVerdict } from "../render/mergeNote.js";
import { findSession, reviewFound } from "./sessionLookup.js";

/** One change as `show` prints it (`--json`: as it is). */
export type ShownChange = {
  path: string;
  kind: ReturnType<typeof kindOf>;
  type: string;
  size: number;
  conflict: boolean;
  outcome: ReviewedChange["outcome"];
  /** Why it conflicts or will be refused (a link out of the root, an ignore file, a path E does not serve), or null. */
  reason: string | null;
  /** Whether the conflict can be merged against the base in E's version store, and why not; null for no conflict. */
  merge: MergeVerdict | null;
  /** Where E's previous version of the file this change overwrote or deleted is kept, or null. */
  kept: string | null;
};

/**
 * Prints every change of a session: what it does, whether it conflicts with E now (and whether the conflict can be
 * merged), and what became of it. A long session is grouped by folder, each folder with its counts.
 */
export async function showSession(ctx: ReviewContext, idText: string, opts: { json: boolean }, out: (line: string) => void, paint: Paint): Promise<void> {
  const found = findSession(ctx, idText);
  const { session } = found;
  const reviewed = await reviewFound(ctx, found);
  const changes: ShownChange[] = [];
  for (const c of reviewed) {
    const open = c.outcome === "pending";
    const refused = open && c.refused !== undefined;
    const conflict = open && !refused && c.decision === "conflict";
    changes.push({
      path: c.path,
      kind: kindOf(c),
      type: c.state.kind === "deleted" ? (c.base?.kind ?? "deleted") : c.state.kind,
      size: c.state.kind === "file" ? c.state.size : 0,
      conflict,
      outcome: c.outcome,
      reason: conflict || refused ? (c.refused ?? c.blocked ?? c.confirm ?? c.flagged ?? "changed on E too") : null,
      merge: conflict ? await mergeVerdict(ctx, found.session.id, found.rootAbs, c) : null,
      kept: c.replaced === null ? null : ctx.staging.replacedPath(session.id, c.replaced),
    });
  }
  if (opts.json) {
    out(terminalJson({ id: session.id, status: session.status, root: session.root, client: session.clientId, created: new Date(session.createdAt).toISOString(), changes }));
    return;
  }
  const conflicts = changes.filter((c) => c.conflict).length;
  const reviewer = session.reviewer === null ? "" : `, under review by pid ${session.reviewer}`;
  out(paint.bold(`session ${session.id} (${session.status}${reviewer}) for root ${escapeControl(session.root)} at ${escapeControl(found.rootAbs)}: ${changes.length} change(s), ${conflicts} in conflict with E`));
  out(paint.dim(`  from client ${escapeControl(session.clientId)}`));
  const rows = reviewed.map((c, i) => ({ c, ch: changes[i]! }));
  const line = ({ c, ch }: (typeof rows)[number], shownPath: string, indent: string): void => {
    const mark = ch.conflict ? paint.red("CONFLICT") : ch.reason !== null ? paint.red("REFUSED ") : ch.outcome !== "pending" ? paint.dim(ch.outcome.padEnd(8)) : c.decision === "record" ? paint.dim("same    ") : "        ";
    const why = ch.reason !== null && (ch.conflict ? ch.reason !== "changed on E too" : true) ? `  ${paint.yellow(reasonOf(c))}` : "";
    out(`${indent}${mark} ${ch.kind.padEnd(7)} ${escapeControl(shownPath)}  ${paint.dim(describeState(c.state))}${why}`);
    if (ch.merge !== null) out(paint.dim(`${indent}         ${mergeNote(ch.merge)}`));
    if (ch.kept !== null) out(paint.dim(`${indent}         E's previous version kept at ${escapeControl(ch.kept)}`));
  };
  if (rows.length <= GROUP_FROM) {
    for (const row of rows) line(row, row.c.path, "  ");
    return;
  }
  for (const group of groupByFolder(rows, (row) => row.c.path)) {
    out(paint.bold(`  ${folderLabel(group.folder)}  ${groupCounts(group.items.length, group.items.filter((row) => row.ch.conflict).length)}`));
    for (const row of group.items) line(row, pathInGroup(group.folder, row.c.path), "    ");
  }
}

/** Works out whether a conflict can be merged, without keeping the merged bytes. */
async function mergeVerdict(ctx: ReviewContext, sessionId: number, rootAbs: string, c: ReviewedChange): Promise<MergeVerdict> {
  const { outcome } = await planMerge(ctx, sessionId, rootAbs, c);
  switch (outcome.kind) {
    case "clean":
      return { kind: "clean" };
    case "overlap":
      return { kind: "overlap", overlaps: outcome.overlaps };
    case "unavailable":
      return { kind: "unavailable", reason: outcome.reason };
  }
}

import { AppliedPaths, type AppliedPath, type AppliedSession } from "@zync/daemon";
import { escapeControl, formatTable, terminalJson } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";

/** What an apply did to one path of E. */
export type PathChange = "created" | "modified" | "deleted" | "merged";

/** One path of a session as `history --json` prints it. */
export type HistoryPath = {
  path: string;
  change: PathChange;
  /** True once `zync-apply undo` put E's earlier state back. */
  undone: boolean;
};

/** A session with what its apply changed on E, as `history --json` prints it. */
export type HistoryRow = {
  id: number;
  status: AppliedSession["status"];
  root: string;
  client: string;
  /** When the last of its paths was written. */
  applied: string;
  /** True when every path it changed was undone. */
  undone: boolean;
  paths: HistoryPath[];
};

/** What an apply did to a path, from what E held before and what it wrote. */
export function changeOf(p: Pick<AppliedPath, "before" | "applied" | "how">): PathChange {
  if (p.how === "merged") return "merged";
  if (p.before.kind === "deleted") return "created";
  if (p.applied.kind === "deleted") return "deleted";
  return "modified";
}

/** Every session an apply wrote E's files for, oldest first, with each path it changed. */
export function historyRows(ctx: ReviewContext): HistoryRow[] {
  return AppliedPaths.of(ctx.staging.db)
    .sessions()
    .map((s) => ({
      id: s.id,
      status: s.status,
      root: s.root,
      client: s.clientId,
      applied: new Date(Math.max(...s.paths.map((p) => p.notedAt))).toISOString(),
      undone: s.paths.every((p) => p.undo === "undone"),
      paths: s.paths.map((p) => ({ path: p.path, change: changeOf(p), undone: p.undo === "undone" })),
    }));
}

/** Prints the applied sessions and what each changed, or the same as JSON. */
export function historyCommand(ctx: ReviewContext, opts: { json: boolean }, out: (line: string) => void): void {
  const rows = historyRows(ctx);
  if (opts.json) return out(terminalJson(rows));
  if (rows.length === 0) return out("no session has changed E's files yet");
  for (const r of rows) {
    const undone = r.paths.filter((p) => p.undone).length;
    const state = r.undone ? "undone" : undone > 0 ? `${undone} of ${r.paths.length} undone` : r.status;
    out(`session ${r.id} (${state}) for root ${r.root} from client ${escapeControl(r.client).slice(0, 16)}, applied ${r.applied.replace("T", " ").slice(0, 19)}: ${r.paths.length} path(s)`);
    for (const line of formatTable(r.paths.map((p) => [`  ${p.change}`, escapeControl(p.path), p.undone ? "undone" : ""]))) out(line.trimEnd());
  }
}

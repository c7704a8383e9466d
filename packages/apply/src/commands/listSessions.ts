import { reviewSession, type SessionSummary } from "@zync/daemon";
import { SessionStatus } from "@zync/protocol";
import { formatTable } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";

/** A session as `list --json` prints it. */
export type SessionRow = {
  id: number;
  status: SessionSummary["status"];
  root: string;
  client: string;
  /** Changes in the session. */
  files: number;
  /** Changes still pending. */
  pending: number;
  /** Pending changes that conflict with E's current content. */
  conflicts: number;
  created: string;
};

const OPEN: readonly string[] = [SessionStatus.Pending, SessionStatus.Partial];

/** Sessions waiting for review (all with `all`), with their conflicts counted against E now. */
export async function sessionRows(ctx: ReviewContext, all: boolean): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  for (const s of ctx.staging.list()) {
    if (!all && !OPEN.includes(s.status)) continue;
    const rootAbs = ctx.rootPath(s.root);
    let conflicts = 0;
    if (OPEN.includes(s.status) && rootAbs !== undefined) {
      conflicts = (await reviewSession(ctx.staging, s.id, rootAbs)).filter((c) => c.outcome === "pending" && c.decision === "conflict").length;
    }
    rows.push({ id: s.id, status: s.status, root: s.root, client: s.clientId, files: s.changes, pending: s.pending, conflicts, created: new Date(s.createdAt).toISOString() });
  }
  return rows;
}

/** Prints the sessions as a table, or as JSON. */
export async function listSessions(ctx: ReviewContext, opts: { all: boolean; json: boolean }, out: (line: string) => void): Promise<void> {
  const rows = await sessionRows(ctx, opts.all);
  if (opts.json) return out(JSON.stringify(rows, null, 2));
  if (rows.length === 0) return out(opts.all ? "no upstream sessions" : "no sessions waiting for review ('--all' shows the others)");
  const table = [["ID", "STATUS", "ROOT", "CHANGES", "PENDING", "CONFLICTS", "CREATED"], ...rows.map((r) => [String(r.id), r.status, r.root, String(r.files), String(r.pending), String(r.conflicts), r.created.replace("T", " ").slice(0, 19)])];
  for (const line of formatTable(table)) out(line);
}

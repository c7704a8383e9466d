import type { SessionSummary } from "@zync/daemon";
import { SessionStatus } from "@zync/protocol";
import { escapeControl, formatTable, terminalJson } from "@zync/node";
import type { ReviewContext } from "../reviewContext.js";
import { reviewFound } from "./sessionLookup.js";

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
  /** Pending changes that conflict with E's current content; null when the session could not be judged. */
  conflicts: number | null;
  /** Why the session could not be judged, when it could not (the list goes on with the others). */
  problem?: string;
  /** The pid of the zync-apply reviewing it right now, or null. */
  reviewer: number | null;
  created: string;
};

const OPEN: readonly string[] = [SessionStatus.Pending, SessionStatus.Partial];

/** Sessions waiting for review (all with `all`), with their conflicts counted against E now. */
export async function sessionRows(ctx: ReviewContext, all: boolean): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  for (const s of ctx.staging.list()) {
    if (!all && !OPEN.includes(s.status)) continue;
    const rootAbs = ctx.rootPath(s.root);
    let conflicts: number | null = 0;
    let problem: string | undefined;
    if (OPEN.includes(s.status) && rootAbs !== undefined) {
      // One session that cannot be judged (its root is gone, say) must not hide the others.
      try {
        const reviewed = await reviewFound(ctx, { session: s, rootAbs });
        conflicts = reviewed.filter((c) => c.outcome === "pending" && c.decision === "conflict" && c.refused === undefined).length;
      } catch (err) {
        conflicts = null;
        problem = `could not be judged against E: ${(err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))}`;
      }
    }
    rows.push({
      id: s.id,
      status: s.status,
      root: s.root,
      client: s.clientId,
      files: s.changes,
      pending: s.pending,
      conflicts,
      ...(problem === undefined ? {} : { problem }),
      reviewer: s.reviewer,
      created: new Date(s.createdAt).toISOString(),
    });
  }
  return rows;
}

/** Prints the sessions as a table, or as JSON. */
export async function listSessions(ctx: ReviewContext, opts: { all: boolean; json: boolean }, out: (line: string) => void): Promise<void> {
  const rows = await sessionRows(ctx, opts.all);
  if (opts.json) return out(terminalJson(rows));
  if (rows.length === 0) return out(opts.all ? "no upstream sessions" : "no sessions waiting for review ('--all' shows the others)");
  const table = [
    ["ID", "STATUS", "ROOT", "CLIENT", "CHANGES", "PENDING", "CONFLICTS", "CREATED"],
    ...rows.map((r) => [
      String(r.id),
      r.reviewer === null ? r.status : `${r.status} (in review)`,
      r.root,
      escapeControl(r.client).slice(0, 16),
      String(r.files),
      String(r.pending),
      r.conflicts === null ? "?" : String(r.conflicts),
      r.created.replace("T", " ").slice(0, 19),
    ]),
  ];
  for (const line of formatTable(table)) out(line);
  for (const r of rows) if (r.problem !== undefined) out(`session ${r.id} ${escapeControl(r.problem)}`);
}

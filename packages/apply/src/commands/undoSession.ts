import { existsSync } from "node:fs";
import { AppliedPaths, type AppliedPath, type SessionSummary } from "@zync/daemon";
import { dropTempDirIfEmpty, escapeControl, ExitCode, ExitError, readLocalEntry, SafeRoot } from "@zync/node";
import { ErrorCode, ProtocolError, SessionStatus } from "@zync/protocol";
import type { ReviewContext } from "../reviewContext.js";
import { pidAlive, withReviewLease } from "../reviewLease.js";
import { clearStaleTemps } from "../staleTemps.js";
import { haveEarlierContent, restoreBefore, type RestoreResult, type UndoPlaces } from "../undo/restoreBefore.js";
import { decideUndo, undoOrder } from "../undo/undoDecision.js";
import { findSession, type FoundSession } from "./sessionLookup.js";

/** Why a session without any path an apply wrote has nothing to undo. */
function nothingApplied(s: SessionSummary): string {
  switch (s.status) {
    case SessionStatus.Receiving:
    case SessionStatus.Pending:
      return `session ${s.id} is ${s.status}: nothing of it was applied, so there is nothing to undo`;
    case SessionStatus.Rejected:
    case SessionStatus.Aborted:
      return `session ${s.id} was ${s.status}: nothing of it was applied, so there is nothing to undo`;
    case SessionStatus.Partial:
    case SessionStatus.Applied:
      return `session ${s.id} wrote nothing on E that zync-apply recorded (E held R's versions already, or it was applied by a zync-apply older than undo), so there is nothing to undo`;
  }
}

/** Why one path was left alone, for its line. */
const LEFT_ALONE: Record<Exclude<RestoreResult, "restored">, string> = {
  "changed-on-E": "changed on E while undo was at it",
  "folder-not-empty": "the folder the apply made now holds other files",
  missing: "E's earlier version is no longer in the version store (pruned by retention)",
};

/** What putting a path back did, for its line. */
function undoneLine(row: AppliedPath, id: number): string {
  const path = escapeControl(row.path);
  if (row.before.kind === "deleted") return `  removed ${path} (session ${id} created it)`;
  if (row.applied.kind === "deleted") return `  restored ${path} (session ${id} deleted it)`;
  if (row.how === "merged") return `  restored ${path} (session ${id} merged R's edit into it)`;
  return `  restored ${path}`;
}

/**
 * Puts back E's state from before a session was applied, path by path, wherever E still holds exactly what the
 * apply wrote; a path E changed since is left alone and named (exit 3). What undo overwrites or removes is kept in
 * the version store first. Each path is noted before E is touched and recorded once put back, so an undo killed
 * at any point is finished by the next. Holds the session's review lease while it runs.
 */
export async function undoSession(ctx: ReviewContext, idText: string, out: (line: string) => void): Promise<number> {
  const found = findSession(ctx, idText);
  const { session } = found;
  const log = AppliedPaths.of(ctx.staging.db);
  const rows = log.ofSession(session.id);
  if (rows.length === 0) throw new ExitError(ExitCode.Failure, nothingApplied(session));
  if (rows.every((r) => r.undo === "undone")) {
    out(`session ${session.id} was already undone; nothing to do`);
    return ExitCode.Ok;
  }
  const take = (pid: number): void => log.takeUndo(session.id, pid, pidAlive);
  return withReviewLease(ctx.staging, session.id, () => undoHeld(ctx, found, log, out), process.pid, take);
}

async function undoHeld(ctx: ReviewContext, found: FoundSession, log: AppliedPaths, out: (line: string) => void): Promise<number> {
  const { session, rootAbs } = found;
  const id = session.id;
  // Without its root every path would look deleted: nothing is judged, nothing marked.
  if (!existsSync(rootAbs)) throw new ExitError(ExitCode.Failure, `the folder of root ${session.root} (${rootAbs}) is not there; nothing was undone`);
  await clearStaleTemps(ctx.staging, id, rootAbs);
  // Read again under the lease: another undo may have finished some of it meanwhile.
  const open = log.ofSession(id).filter((r) => r.undo !== "undone");
  out(`undoing session ${id} for root ${session.root} (${escapeControl(rootAbs)}): ${open.length} path(s) to put back`);
  const root = new SafeRoot(rootAbs);
  let undone = 0;
  let left = 0;
  const leave = (row: AppliedPath, why: string): void => {
    left++;
    out(`  left alone: ${escapeControl(row.path)}: ${why}`);
  };
  for (const row of undoOrder(open)) {
    let abs: string;
    try {
      abs = await root.resolve(row.path);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === ErrorCode.BadPath) {
        leave(row, "a file or link now stands where a folder on the way was");
        continue;
      }
      throw err;
    }
    let seen;
    try {
      seen = await readLocalEntry(abs);
    } catch (err) {
      leave(row, `E cannot read it (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      continue;
    }
    const places: UndoPlaces = { staging: ctx.staging, versions: ctx.versions, beforeTouching: () => log.markUndoing(id, row.path) };
    const step = decideUndo({
      before: row.before,
      applied: row.applied,
      current: seen.state,
      undoing: row.undo === "undoing",
      haveBefore: row.before.kind !== "file" || haveEarlierContent(places, id, row.before.hash),
    });
    if (step.kind === "refuse") {
      leave(row, step.reason);
      continue;
    }
    if (step.kind === "restore") {
      let result: RestoreResult;
      try {
        result = await restoreBefore(root, abs, row, seen, places);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined) throw err;
        leave(row, `E could not write it (${code})`);
        continue;
      }
      if (result !== "restored") {
        leave(row, LEFT_ALONE[result]);
        continue;
      }
    }
    log.markUndone(id, row.path);
    undone++;
    out(undoneLine(row, id));
  }
  await dropTempDirIfEmpty(rootAbs);
  out("");
  out(`${undone} path(s) put back as E had them before session ${id}, ${left} left alone.`);
  if (left === 0) return ExitCode.Ok;
  out(`A path left alone keeps what E holds now; 'zync-apply history' lists what session ${id} changed.`);
  return ExitCode.Conflicts;
}

import { resolveInside, SessionStatus } from "@zync/protocol";
import type { ReviewedChange } from "@zync/daemon";
import { dropTempDirIfEmpty, ExitCode, ExitError } from "@zync/node";
import { applyChange } from "../applyChange.js";
import type { Paint } from "../render/colors.js";
import { describeState, kindOf } from "../render/describe.js";
import { renderDiff } from "../render/diffText.js";
import { PromptCancelled, type Choice, type Prompter } from "../prompter.js";
import type { ReviewContext } from "../reviewContext.js";
import { findSession, pendingReview, type FoundSession } from "./sessionLookup.js";

export type ApplyOptions = { force: boolean; nonInteractive: boolean };
export type ApplyIO = { out: (line: string) => void; prompter: Prompter; paint: Paint };

/** Lines of diff shown before the developer asks for the full view. */
const PREVIEW_LINES = 40;

type Tally = { applied: number; skipped: number; left: number };

type Action = "apply" | "skip" | "view" | "rest" | "quit";

const CHOICES: readonly Choice<Action>[] = [
  { key: "a", name: "apply R's version", value: "apply" },
  { key: "s", name: "skip (keep E as it is)", value: "skip" },
  { key: "v", name: "view the full diff", value: "view" },
  { key: "l", name: "apply all remaining changes that do not conflict", value: "rest" },
  { key: "q", name: "quit (the rest stays pending)", value: "quit" },
];

const CONFLICT_CHOICES: readonly Choice<Action>[] = [
  { key: "r", name: "use R's version (E's copy is kept in the session's folder)", value: "apply" },
  { key: "e", name: "keep E's version (skip this change)", value: "skip" },
  { key: "v", name: "view the full diff", value: "view" },
  { key: "q", name: "quit (the rest stays pending)", value: "quit" },
];

/**
 * Applies a staged session to E: interactively, change by change with diffs (conflicts first, each needing an
 * explicit choice), or all at once with --non-interactive (refused while conflicts exist unless --force).
 * Everything decided is recorded as it happens, so quitting or Ctrl-C leaves the session resumable.
 */
export async function applySession(ctx: ReviewContext, idText: string, opts: ApplyOptions, io: ApplyIO): Promise<number> {
  const found = findSession(ctx, idText);
  const { session } = found;
  if (session.status === SessionStatus.Applied) {
    io.out(`session ${session.id} is already applied; nothing to do`);
    return ExitCode.Ok;
  }
  if (session.status !== SessionStatus.Pending && session.status !== SessionStatus.Partial) {
    throw new ExitError(ExitCode.Failure, `session ${session.id} is ${session.status}; only pending or partially applied sessions can be applied`);
  }
  const pending = await pendingReview(ctx, found);
  const conflicts = pending.filter((c) => c.decision === "conflict");
  io.out(io.paint.bold(`session ${session.id} for root ${session.root} (${found.rootAbs}): ${pending.length} change(s) pending, ${conflicts.length} in conflict with E`));
  const tally: Tally = { applied: 0, skipped: 0, left: 0 };

  if (opts.nonInteractive) {
    if (conflicts.length > 0 && !opts.force) {
      for (const c of conflicts) io.out(`  conflict: ${c.path}${c.blocked ? ` (${c.blocked})` : " (changed on E too)"}`);
      throw new ExitError(
        ExitCode.Conflicts,
        `session ${session.id} has ${conflicts.length} conflict(s) with E's current content; nothing was changed. --force --non-interactive would apply R's versions over them (E's copies are kept in ${ctx.staging.sessionDir(session.id)}/replaced)`,
      );
    }
    for (const c of pending) await applyOne(ctx, found, c, io, tally);
    // Anything left pending (changed on E meanwhile) needs a look, so a script learns about it.
    return (await finish(ctx, found, tally, io)) > 0 ? ExitCode.Conflicts : ExitCode.Ok;
  }

  let applyRest = false;
  try {
    for (const [i, c] of pending.entries()) {
      if (c.decision === "record") {
        ctx.staging.decide(session.id, c.path, "applied");
        tally.applied++;
        continue;
      }
      if (applyRest && c.decision !== "conflict") {
        await applyOne(ctx, found, c, io, tally);
        continue;
      }
      const action = await ask(ctx, found, c, `[${i + 1}/${pending.length}]`, io);
      if (action === "quit") break;
      if (action === "skip") {
        ctx.staging.decide(session.id, c.path, "skipped");
        tally.skipped++;
        continue;
      }
      if (action === "rest") applyRest = true;
      await applyOne(ctx, found, c, io, tally);
    }
  } catch (err) {
    if (!(err instanceof PromptCancelled)) throw err;
    await finish(ctx, found, tally, io);
    return 130;
  }
  await finish(ctx, found, tally, io);
  return ExitCode.Ok;
}

/** Shows one change and asks until the answer is not "view". */
async function ask(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, counter: string, io: ApplyIO): Promise<Action> {
  const conflict = c.decision === "conflict";
  const label = conflict ? io.paint.red("CONFLICT") : io.paint.cyan(kindOf(c));
  io.out("");
  io.out(`${counter} ${label} ${io.paint.bold(c.path)}: E has ${describeState(c.current)}, R has ${describeState(c.state)}`);
  if (c.blocked) io.out(`  ${c.blocked}`);
  else if (conflict) io.out("  E changed this path too since R last synced it.");
  const sides = diffSides(ctx, found, c);
  const preview = await renderDiff(c.path, sides.from, sides.to, io.paint, PREVIEW_LINES);
  io.out(preview.text);
  if (preview.truncated) io.out(io.paint.dim(`  … more lines: choose 'view the full diff'`));
  for (;;) {
    const action = await io.prompter.choose(`${c.path}:`, conflict ? CONFLICT_CHOICES : CHOICES);
    if (action !== "view") return action;
    io.out((await renderDiff(c.path, sides.from, sides.to, io.paint)).text);
  }
}

function diffSides(ctx: ReviewContext, found: FoundSession, c: ReviewedChange) {
  const staged = c.state.kind === "file" ? ctx.staging.blobPath(found.session.id, c.state.hash) : undefined;
  return {
    from: { label: "E", state: c.current, contentPath: c.blocked ? undefined : resolveInside(found.rootAbs, c.path) },
    to: { label: "R", state: c.state, contentPath: staged },
  };
}

async function applyOne(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, io: ApplyIO, tally: Tally): Promise<void> {
  const id = found.session.id;
  if (c.blocked) {
    io.out(`  left pending: ${c.path}: ${c.blocked}`);
    tally.left++;
    return;
  }
  const result = await applyChange(ctx.staging, id, found.rootAbs, c);
  switch (result.status) {
    case "applied":
      ctx.staging.decide(id, c.path, "applied", result.replaced ? (c.current.kind === "file" ? c.current.hash : null) : null);
      tally.applied++;
      io.out(`  applied ${c.path}${result.replaced ? ` (E's previous version kept at ${result.replaced})` : ""}`);
      return;
    case "changed-on-E":
      tally.left++;
      io.out(`  left pending: ${c.path} changed on E after it was reviewed; run apply again to review it`);
      return;
    case "folder-not-empty":
      tally.left++;
      io.out(`  left pending: ${c.path} is a folder on E that still holds files`);
      return;
  }
}

/** Prints the outcome and how to resume; returns how many changes are still pending. */
async function finish(ctx: ReviewContext, found: FoundSession, tally: Tally, io: ApplyIO): Promise<number> {
  await dropTempDirIfEmpty(found.rootAbs);
  const id = found.session.id;
  const remaining = ctx.staging.get(id)?.pending ?? 0;
  io.out("");
  io.out(`${tally.applied} applied, ${tally.skipped} skipped, ${remaining} still pending.`);
  if (remaining > 0) io.out(`Resume with 'zync-apply apply ${id}'.`);
  return remaining;
}

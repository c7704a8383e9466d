import { posix } from "node:path";
import { parentOf, resolveInside, SessionStatus, type FileState } from "@zync/protocol";
import { SessionStateError, type ReviewedChange } from "@zync/daemon";
import { dropTempDirIfEmpty, escapeControl, ExitCode, ExitError, pickSides, type Side } from "@zync/node";
import { applyChange } from "../applyChange.js";
import { mergedPath, planMerge, stageMerged, type MergePlan } from "../merge/mergeChange.js";
import { renderConflictMarkers } from "../merge/conflictMarkers.js";
import { editMerge } from "../merge/editMerge.js";
import type { Editor } from "../editor.js";
import type { Paint } from "../render/colors.js";
import { describeState, kindOf, reasonOf } from "../render/describe.js";
import { renderDiff } from "../render/diffText.js";
import { mergeNote } from "../render/mergeNote.js";
import { PromptCancelled, type Choice, type Prompter } from "../prompter.js";
import type { ReviewContext } from "../reviewContext.js";
import { withReviewLease } from "../reviewLease.js";
import { clearStaleTemps } from "../staleTemps.js";
import { findSession, pendingReview, type FoundSession } from "./sessionLookup.js";
import { checkTakeGlobs, takeVerdict, type TakeOption, type TakeSide } from "./bulkTake.js";
import { folderChoices, folderTakeFor, type FolderAction, type FolderTake } from "./folderChoice.js";
import { folderOverview } from "../render/folderGroups.js";
import type { Pager } from "../render/pager.js";

/**
 * `merge`: with --non-interactive, conflicts whose edits do not overlap are merged and applied; the rest stay pending.
 * `take`: with --non-interactive, the conflicts a glob names take that side; the rest stay pending.
 */
export type ApplyOptions = { force: boolean; nonInteractive: boolean; merge?: boolean; take?: TakeOption };
/**
 * `page` shows the full diff (through a pager when it does not fit the terminal); without it, the diff is printed.
 * `editor` lets a person edit a merge (conflict markers where the sides overlap); without it, that is not offered.
 */
export type ApplyIO = { out: (line: string) => void; prompter: Prompter; paint: Paint; page?: Pager; editor?: Editor };

/** Lines of diff shown before the developer asks for the full view. */
const PREVIEW_LINES = 40;

type Tally = { applied: number; skipped: number; refused: number; left: number; kept: number };

type Action = "apply" | "skip" | "view" | "rest" | "quit" | "merge" | "parts" | "edit" | "edited" | FolderAction;

const CHOICES: readonly Choice<Action>[] = [
  { key: "a", name: "apply R's version", value: "apply" },
  { key: "s", name: "skip (keep E as it is)", value: "skip" },
  { key: "v", name: "view the full diff", value: "view" },
  { key: "l", name: "apply all remaining changes that do not conflict", value: "rest" },
  { key: "q", name: "quit (the rest stays pending)", value: "quit" },
];

const MERGE_CHOICE: Choice<Action> = { key: "m", name: "merge: keep both E's and R's changes (they do not overlap)", value: "merge" };

const PARTS_CHOICE: Choice<Action> = { key: "p", name: "merge, choosing E's or R's text for each part where they overlap", value: "parts" };

// "e" is E's version among a conflict's choices, so the editor is "o" (open).
const EDIT_CHOICE: Choice<Action> = { key: "o", name: "open the merge in your editor (conflict markers where E's and R's changes overlap) and apply what you save", value: "edit" };

const PART_CHOICES: readonly Choice<Side>[] = [
  { key: "e", name: "E's text", value: "e" },
  { key: "r", name: "R's text", value: "r" },
];

const CONFLICT_CHOICES: readonly Choice<Action>[] = [
  { key: "r", name: "use R's version (E's copy is kept in the session's folder)", value: "apply" },
  { key: "e", name: "keep E's version (skip this change)", value: "skip" },
  { key: "v", name: "view the full diff", value: "view" },
  { key: "q", name: "quit (the rest stays pending)", value: "quit" },
];

/**
 * Applies a staged session to E: interactively, change by change with diffs (conflicts first, each needing an
 * explicit choice), or all at once with --non-interactive (refused while conflicts exist unless --force). A change
 * that could widen what E serves (an ignore file) is only ever applied on a person's explicit choice, never by
 * --non-interactive, even with --force. Paths E does not serve, or cannot name, are refused one by one and the
 * rest goes on. The session's review lease is held throughout, so no new offer from R aborts it meanwhile.
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
  return withReviewLease(ctx.staging, session.id, async () => {
    try {
      return await applyHeld(ctx, found, opts, io);
    } catch (err) {
      if (err instanceof SessionStateError) throw new ExitError(ExitCode.Failure, err.message);
      throw err;
    }
  });
}

async function applyHeld(ctx: ReviewContext, found: FoundSession, opts: ApplyOptions, io: ApplyIO): Promise<number> {
  const { session } = found;
  const all = await pendingReview(ctx, found);
  if (opts.take) checkTakeGlobs(session.id, all.filter((c) => c.refused === undefined && c.decision === "conflict"), opts.take);
  await clearStaleTemps(ctx.staging, session.id, found.rootAbs);
  const tally: Tally = { applied: 0, skipped: 0, refused: 0, left: 0, kept: 0 };
  for (const c of all.filter((c) => c.refused !== undefined)) refuse(ctx, found, c, io, tally);
  const pending = all.filter((c) => c.refused === undefined);
  const conflicts = pending.filter((c) => c.decision === "conflict");
  io.out(io.paint.bold(`session ${session.id} for root ${escapeControl(session.root)} (${escapeControl(found.rootAbs)}): ${pending.length} change(s) pending, ${conflicts.length} in conflict with E`));

  if (opts.nonInteractive) {
    if (conflicts.length > 0 && !opts.force && !opts.merge && !opts.take) {
      for (const c of conflicts) io.out(`  conflict: ${escapeControl(c.path)} (${reasonOf(c)})`);
      throw new ExitError(
        ExitCode.Conflicts,
        `session ${session.id} has ${conflicts.length} conflict(s) with E's current content; nothing was changed. --force --non-interactive would apply R's versions over them (E's copies are kept in ${ctx.staging.sessionDir(session.id)}/replaced), except changes that need a person's confirmation`,
      );
    }
    for (const c of pending) {
      if (c.decision === "conflict" && opts.take) {
        const verdict = takeVerdict(c, opts.take);
        if (verdict.kind !== "leave") await takeSide(ctx, found, c, verdict.kind === "apply" ? "r" : "e", io, tally);
        else {
          io.out(`  left pending: ${escapeControl(c.path)}: ${escapeControl(verdict.why)}`);
          tally.left++;
        }
        continue;
      }
      if (c.confirm !== undefined) {
        io.out(`  left pending: ${escapeControl(c.path)}: ${escapeControl(c.confirm)}; only 'zync-apply apply ${session.id}' run by a person can apply it`);
        tally.left++;
        continue;
      }
      if (c.decision === "conflict" && opts.merge) {
        await mergeOne(ctx, found, c, await planMerge(ctx, session.id, found.rootAbs, c), io, tally);
        continue;
      }
      await applyOne(ctx, found, c, io, tally);
    }
    // Anything left pending (changed on E meanwhile, or waiting for a person) needs a look, so a script learns about it.
    return (await finish(ctx, found, tally, io)) > 0 ? ExitCode.Conflicts : ExitCode.Ok;
  }

  for (const line of folderOverview(pending.map((c) => ({ path: c.path, conflict: c.decision === "conflict" })))) io.out(`  ${line}`);
  let applyRest = false;
  const folderTakes: FolderTake[] = [];
  try {
    for (const [i, c] of pending.entries()) {
      if (c.decision === "record" && c.placing === null) {
        ctx.staging.decide(session.id, c.path, "applied", process.pid);
        tally.applied++;
        continue;
      }
      if (applyRest && c.decision !== "conflict") {
        await applyOne(ctx, found, c, io, tally);
        continue;
      }
      const chosen = c.decision === "conflict" ? folderTakeFor(c, folderTakes) : undefined;
      if (chosen !== undefined) {
        await takeSide(ctx, found, c, chosen.side, io, tally);
        continue;
      }
      const plan = c.decision === "conflict" ? await planMerge(ctx, session.id, found.rootAbs, c) : undefined;
      const extra = c.decision === "conflict" ? folderChoices(c, pending.slice(i + 1)) : [];
      const edit = plan !== undefined && io.editor !== undefined ? editOne(ctx, found, c, plan, io, tally, io.editor) : undefined;
      const action = await ask(ctx, found, c, `[${i + 1}/${pending.length}]`, io, plan, extra, edit);
      if (action === "quit") break;
      if (action === "edited") continue;
      if (action === "take-folder" || action === "keep-folder") {
        const side = action === "take-folder" ? "r" : "e";
        folderTakes.push({ folder: parentOf(c.path), side });
        await takeSide(ctx, found, c, side, io, tally);
        continue;
      }
      if (action === "merge" && plan !== undefined) {
        await mergeOne(ctx, found, c, plan, io, tally);
        continue;
      }
      if (action === "parts" && plan !== undefined) {
        await mergeByParts(ctx, found, c, plan, io, tally);
        continue;
      }
      if (action === "skip") {
        ctx.staging.decide(session.id, c.path, "skipped", process.pid);
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

/** Settles a conflict by a bulk choice: R's version applied, or E's kept (recorded as skipped, and said). */
async function takeSide(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, side: TakeSide, io: ApplyIO, tally: Tally): Promise<void> {
  if (side === "r") return applyOne(ctx, found, c, io, tally);
  ctx.staging.decide(found.session.id, c.path, "skipped", process.pid);
  tally.skipped++;
  io.out(`  kept E's version of ${escapeControl(c.path)}`);
}

/** Records a change E will never hold as refused; nothing is written. */
function refuse(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, io: ApplyIO, tally: Tally): void {
  ctx.staging.decide(found.session.id, c.path, "refused", process.pid);
  tally.refused++;
  io.out(`  refused: ${escapeControl(c.refused ?? c.path)}`);
}

/**
 * Shows one change and asks until the answer is not "view". With `edit` (the merge can be edited), "edit" runs it:
 * "edited" when it applied the result, otherwise the same question again.
 */
async function ask(
  ctx: ReviewContext,
  found: FoundSession,
  c: ReviewedChange,
  counter: string,
  io: ApplyIO,
  plan?: MergePlan,
  extra: readonly Choice<Action>[] = [],
  edit?: () => Promise<boolean>,
): Promise<Action> {
  const conflict = c.decision === "conflict";
  const label = conflict ? io.paint.red(c.confirm ? "CONFIRM" : "CONFLICT") : io.paint.cyan(kindOf(c));
  const path = escapeControl(c.path);
  io.out("");
  io.out(`${counter} ${label} ${io.paint.bold(path)}: E has ${describeState(c.current)}, R has ${describeState(c.state)}`);
  if (conflict) io.out(`  ${reasonOf(c)}.`);
  const sides = diffSides(ctx, found, c);
  const clean = plan?.outcome.kind === "clean";
  // With the base at hand, each side's own changes are shown; without it, E's file against R's.
  const render = async (maxLines?: number): Promise<{ text: string; truncated: boolean }> => {
    if (plan?.sides === undefined || c.base === null) return renderDiff(c.path, sides.from, sides.to, io.paint, maxLines);
    const base = { label: "base", state: c.base, text: plan.sides.base.toString("utf8") };
    const byR = await renderDiff(c.path, base, { ...sides.to, text: plan.sides.r.toString("utf8") }, io.paint, maxLines);
    const byE = await renderDiff(c.path, base, { ...sides.from, text: plan.sides.e.toString("utf8") }, io.paint, maxLines);
    return {
      text: `${io.paint.bold("what R changed:")}\n${byR.text}\n${io.paint.bold("what E changed:")}\n${byE.text}`,
      truncated: byR.truncated || byE.truncated,
    };
  };
  const preview = await render(PREVIEW_LINES);
  io.out(preview.text);
  if (preview.truncated) io.out(io.paint.dim(`  … more lines: choose 'view the full diff'`));
  if (plan !== undefined) io.out(`  ${mergeNote(plan.outcome)}`);
  const editing = edit !== undefined ? [EDIT_CHOICE] : [];
  const choices = [
    ...(!conflict ? CHOICES : clean ? [MERGE_CHOICE, ...editing, ...CONFLICT_CHOICES] : plan?.outcome.kind === "overlap" ? [PARTS_CHOICE, ...editing, ...CONFLICT_CHOICES] : CONFLICT_CHOICES),
    ...extra,
  ];
  for (;;) {
    const action = await io.prompter.choose(`${path}:`, choices);
    if (action === "edit" && edit !== undefined) {
      if (await edit()) return "edited";
      continue;
    }
    if (action !== "view") return action;
    const full = (await render()).text;
    if (io.page !== undefined) await io.page(full);
    else io.out(full);
  }
}

/** Shows one side's text of an overlap, each line prefixed, control characters escaped. */
function showPart(label: string, text: string, io: ApplyIO): void {
  if (text === "") io.out(`  ${label}: (nothing: the lines are removed)`);
  else for (const line of text.replace(/\n$/, "").split("\n")) io.out(`  ${label}| ${escapeControl(line)}`);
}

/** Merges a conflict whose changes overlap by asking, for each overlapping part, whose text to take; then applies it. */
async function mergeByParts(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, plan: MergePlan, io: ApplyIO, tally: Tally): Promise<void> {
  if (plan.outcome.kind !== "overlap" || c.state.kind !== "file") return mergeOne(ctx, found, c, plan, io, tally);
  const parts = plan.outcome.regions.flatMap((x) => (x.kind === "overlap" ? [x] : []));
  const picks: Side[] = [];
  for (const [i, part] of parts.entries()) {
    io.out(io.paint.bold(`  part ${i + 1}/${parts.length} of ${escapeControl(c.path)}:`));
    showPart("E", Buffer.from(part.e, "latin1").toString("utf8"), io);
    showPart("R", Buffer.from(part.r, "latin1").toString("utf8"), io);
    picks.push(await io.prompter.choose(`part ${i + 1}/${parts.length}:`, PART_CHOICES));
  }
  const bytes = pickSides(plan.outcome.regions, picks);
  if (bytes === undefined) throw new Error("a side was not chosen for every overlapping part");
  await mergeOne(ctx, found, c, { ...plan, outcome: { kind: "clean", bytes } }, io, tally);
}

/**
 * The "edit" choice for a conflict with a merge (clean, or overlapping: then with conflict markers): undefined
 * when there is none to edit; otherwise a run of the person's editor that, once it gives a result, shows that
 * result against E's file and applies it as a merge, returning true. False means back to the choices, nothing written.
 */
function editOne(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, plan: MergePlan, io: ApplyIO, tally: Tally, editor: Editor): (() => Promise<boolean>) | undefined {
  const { outcome } = plan;
  if (c.state.kind !== "file" || (outcome.kind !== "clean" && outcome.kind !== "overlap")) return undefined;
  const start = outcome.kind === "clean" ? outcome.bytes : renderConflictMarkers(outcome.regions);
  return async () => {
    const sessionDir = ctx.staging.sessionDir(found.session.id);
    const edited = await editMerge(sessionDir, posix.basename(c.path), start, escapeControl(c.path), { out: io.out, prompter: io.prompter, editor });
    if (edited.kind === "back") return false;
    const sides = diffSides(ctx, found, c);
    const diff = await renderDiff(c.path, sides.from, { label: "edited", state: c.state, text: edited.bytes.toString("utf8") }, io.paint, PREVIEW_LINES);
    io.out(diff.text);
    if (diff.truncated) io.out(io.paint.dim(`  … more lines`));
    await mergeOne(ctx, found, c, { ...plan, outcome: { kind: "clean", bytes: edited.bytes } }, io, tally);
    return true;
  };
}

/** Applies the merge of a conflicting change when it is clean; otherwise leaves the change pending and says why. */
async function mergeOne(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, plan: MergePlan, io: ApplyIO, tally: Tally): Promise<void> {
  if (plan.outcome.kind !== "clean" || c.state.kind !== "file") {
    io.out(`  left pending: ${escapeControl(c.path)}: ${mergeNote(plan.outcome)}`);
    tally.left++;
    return;
  }
  const merged = await stageMerged(ctx, found.session.id, c as ReviewedChange & { state: FileState }, plan.outcome.bytes);
  await applyOne(ctx, found, merged, io, tally, mergedPath(ctx, found.session.id, merged.state.hash), "merged");
}

function diffSides(ctx: ReviewContext, found: FoundSession, c: ReviewedChange) {
  const staged = c.state.kind === "file" ? ctx.staging.blobPath(found.session.id, c.state.hash) : undefined;
  return {
    from: { label: "E", state: c.current, contentPath: c.blocked ? undefined : resolveInside(found.rootAbs, c.path) },
    to: { label: "R", state: c.state, contentPath: staged },
  };
}

async function applyOne(ctx: ReviewContext, found: FoundSession, c: ReviewedChange, io: ApplyIO, tally: Tally, contentPath?: string, verb = "applied"): Promise<void> {
  const id = found.session.id;
  const path = escapeControl(c.path);
  if (c.blocked) {
    io.out(`  left pending: ${path}: ${escapeControl(c.blocked)}`);
    tally.left++;
    return;
  }
  let result;
  try {
    result = await applyChange(ctx.staging, id, found.rootAbs, c, { versions: ctx.versions, contentPath });
  } catch (err) {
    // One path E's disk will not take does not stop the rest of the session.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENAMETOOLONG" || code === "EILSEQ") {
      refuse(ctx, found, { ...c, refused: `${c.path}: E's filesystem cannot hold this name (${code})` }, io, tally);
      return;
    }
    if (code === undefined) throw err;
    io.out(`  left pending: ${path}: E could not write it (${code})`);
    tally.left++;
    return;
  }
  switch (result.status) {
    case "applied":
      ctx.staging.decide(id, c.path, "applied", process.pid, result.kept?.hash ?? null);
      tally.applied++;
      if (result.kept) tally.kept++;
      io.out(`  ${verb} ${path}${result.kept ? ` (E's previous version kept at ${escapeControl(result.kept.path)})` : ""}`);
      return;
    case "changed-on-E":
      tally.left++;
      io.out(`  left pending: ${path} changed on E after it was reviewed; run apply again to review it`);
      return;
    case "folder-not-empty":
      tally.left++;
      io.out(`  left pending: ${path} is a folder on E that still holds files`);
      return;
  }
}

/** Prints the outcome and how to resume; returns how many changes are still pending. */
async function finish(ctx: ReviewContext, found: FoundSession, tally: Tally, io: ApplyIO): Promise<number> {
  await dropTempDirIfEmpty(found.rootAbs);
  const id = found.session.id;
  const remaining = ctx.staging.get(id)?.pending ?? 0;
  io.out("");
  io.out(`${tally.applied} applied, ${tally.skipped} skipped, ${tally.refused ? `${tally.refused} refused, ` : ""}${remaining} still pending.`);
  if (tally.kept > 0) io.out(`E's previous versions of ${tally.kept} overwritten or deleted file(s) are kept in ${escapeControl(ctx.staging.sessionDir(id))}/replaced ('zync-apply show ${id}' names each).`);
  if (remaining > 0) io.out(`Resume with 'zync-apply apply ${id}'.`);
  return remaining;
}

import type { ReviewedChange } from "@zync/daemon";
import { UsageError } from "@zync/node";
import { globNames } from "../select/pathGlob.js";

/** Whose version a bulk choice takes: R's (`r`) or E's (`e`). */
export type TakeSide = "r" | "e";

/** `apply N --take r|e --paths GLOB...`: the side taken for every pending conflict a glob names. */
export type TakeOption = { side: TakeSide; globs: readonly string[] };

/** What a bulk choice does with one pending conflict. */
export type TakeVerdict =
  /** Apply R's version over E's (E's file is kept in the session's folder, as for any conflict). */
  | { kind: "apply" }
  /** Keep E's version: the change is recorded as skipped. */
  | { kind: "skip" }
  /** Not decided by this run; `why` says why, as a clause safe to print once escaped. */
  | { kind: "leave"; why: string };

/**
 * Decides one pending conflict under a bulk choice. A conflict no glob names stays pending, as it would without
 * the flag. A change that could widen what E serves (an ignore file) is applied only on a person's choice of that
 * one path, so `--take r` leaves it pending; `--take e` keeps E's version of it, which widens nothing.
 */
export function takeVerdict(c: Pick<ReviewedChange, "path" | "confirm">, take: TakeOption): TakeVerdict {
  if (!take.globs.some((g) => globNames(g, c.path))) return { kind: "leave", why: "in conflict with E, and no --paths glob names it" };
  if (take.side === "e") return { kind: "skip" };
  if (c.confirm !== undefined) return { kind: "leave", why: `${c.confirm}; only 'zync-apply apply' run by a person can apply it` };
  return { kind: "apply" };
}

/**
 * Refuses, before anything is written, a glob that names none of the session's pending conflicts: most likely a
 * typo, or a path written from somewhere other than the root. One sentence, exit 2.
 */
export function checkTakeGlobs(sessionId: number, conflicts: readonly Pick<ReviewedChange, "path">[], take: TakeOption): void {
  for (const glob of take.globs) {
    if (conflicts.some((c) => globNames(glob, c.path))) continue;
    const what = conflicts.length === 0 ? "it has no pending conflicts" : `none of its ${conflicts.length} pending conflict(s) lies there`;
    throw new UsageError(
      `--paths '${glob}' names nothing in session ${sessionId}: ${what} (globs are matched against paths relative to the root, such as src/a.txt; 'zync-apply show ${sessionId}' lists them); nothing was changed`,
    );
  }
}

import { sameContent, type EntryState } from "@zync/protocol";

/**
 * What to do with one incoming change:
 * - `record`: R already holds exactly that content; only the base is updated.
 * - `apply`: R has not touched the path since it last synced it; E's state is written.
 * - `conflict`: R changed the path too; R's content stays and the path is reported.
 */
export type Decision = "record" | "apply" | "conflict";

/**
 * Decides from E's new state (`remote`), what R last received (`base`, absent if never) and what R holds now
 * (`local`). An edit made on R is never overwritten or deleted by this decision.
 */
export function decide(remote: EntryState, base: EntryState | undefined, local: EntryState): Decision {
  if (sameContent(local, remote)) return "record";
  const unchangedOnR = base === undefined ? local.kind === "deleted" : sameContent(local, base);
  return unchangedOnR ? "apply" : "conflict";
}

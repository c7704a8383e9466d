import { sameContent, type EntryState } from "./entry.js";

/**
 * What a receiving side does with one incoming change (E's change arriving on R, or R's change applied on E):
 * - `record`: the receiver already holds exactly that content; nothing is written.
 * - `keep`: the sender did not change the path (its state equals the base), so the receiver's own edit stays.
 * - `apply`: the receiver has not touched the path since the sender's base; the incoming state is written.
 * - `conflict`: the receiver changed the path too; its content stays and the path is reported.
 */
export type Decision = "record" | "keep" | "apply" | "conflict";

/**
 * Decides from the incoming state, the base it was made from (what the receiver held when both sides last
 * agreed; undefined when the path never existed there) and what the receiver holds now. The receiver's own
 * edits are never overwritten or deleted by this decision.
 */
export function decide(incoming: EntryState, base: EntryState | undefined, current: EntryState): Decision {
  if (sameContent(current, incoming)) return "record";
  // A full comparison re-sends paths the sender never changed; an edit the receiver made to them is not a conflict.
  if (base !== undefined && sameContent(incoming, base)) return "keep";
  const untouched = base === undefined ? current.kind === "deleted" : sameContent(current, base);
  return untouched ? "apply" : "conflict";
}

import { SessionStatus } from "@zync/protocol";

/**
 * The moves an upstream session can make, and from which statuses. Every status change in the staging store is an
 * `UPDATE … WHERE status IN (from)` whose row count is checked, so two processes (the daemon receiving offers,
 * zync-apply reviewing) can never both move the same session.
 */
export const SESSION_MOVES = {
  /** The daemon: all content is there. */
  finalize: { from: [SessionStatus.Receiving], to: [SessionStatus.Pending] },
  /**
   * The daemon: a newer offer from the same client and root replaces one nobody has started to decide or to
   * write (an apply that was killed leaves its session as it was, copies of E's files included).
   */
  abort: { from: [SessionStatus.Receiving, SessionStatus.Pending], to: [SessionStatus.Aborted] },
  /** zync-apply, holding the review lease: a change was applied, skipped or refused. */
  decide: { from: [SessionStatus.Pending, SessionStatus.Partial], to: [SessionStatus.Partial, SessionStatus.Applied] },
  /** zync-apply, holding the review lease: the session is discarded. */
  reject: { from: [SessionStatus.Receiving, SessionStatus.Pending, SessionStatus.Partial], to: [SessionStatus.Rejected] },
} as const satisfies Record<string, { from: readonly SessionStatus[]; to: readonly SessionStatus[] }>;

export type SessionMove = keyof typeof SESSION_MOVES;

/** True when `move` may take a session from status `from` to status `to`. */
export function canMove(move: SessionMove, from: SessionStatus, to: SessionStatus): boolean {
  const m = SESSION_MOVES[move];
  return (m.from as readonly SessionStatus[]).includes(from) && (m.to as readonly SessionStatus[]).includes(to);
}

/** Statuses a review lease can be taken on (something is left to decide or to reject). */
export const REVIEWABLE: readonly SessionStatus[] = [SessionStatus.Receiving, SessionStatus.Pending, SessionStatus.Partial];

/** How long a review lease lasts without renewal; zync-apply renews it well before, while it runs. */
export const REVIEW_LEASE_MS = 60_000;

/** Thrown when a session is not in a state that allows what was asked (moved by the other process meanwhile). */
export class SessionStateError extends Error {
  override name = "SessionStateError";
}

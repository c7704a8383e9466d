/**
 * Events of a live client, for tools (`zync-client --json`): one JSON object per line on stdout, each with the
 * event's name and time. Text from E inside them (paths, reasons) is escaped by the JSON encoding.
 */
import { terminalJson } from "@zync/node";

/** What a live client tells a tool, one object per event. */
export type ClientEvent =
  /** Connected (again) to the daemon. */
  | { event: "connected"; url: string }
  /** The connection was lost or could not be made; the client retries. */
  | { event: "disconnected"; reason: string }
  /** A pass (pull of every root) begins. */
  | { event: "pass-started" }
  /** A pass ended; the counts are what it applied. */
  | { event: "pass-finished"; written: number; deleted: number; copied: number; bytes: number; merged: number; conflicts: number; unplaced: number }
  /** A pass failed; the next change or interval tries again. */
  | { event: "pass-failed"; message: string }
  /** A path changed on R and on E: R's version is kept (reported once per path). */
  | { event: "conflict"; path: string }
  /** With --merge: a path changed on R and on E was merged on R (R's file holds both edits, to go upstream). */
  | { event: "merged"; path: string }
  /** With --merge: a conflict that could not be merged, and why (reported once per path and reason). */
  | { event: "not-merged"; path: string; reason: string }
  /** A hook's command was started for the paths of one root that matched its pattern. */
  | { event: "hook-started"; rule: string; root: string; files: number }
  /** A hook's command ended: its exit status, or the signal that ended it. */
  | { event: "hook-finished"; rule: string; root: string; files: number; status: number | null; signal: string | null; ms: number }
  /** E halted recording a root (the mass-deletion guard). */
  | { event: "halted"; root: string; reason: string; since: number }
  /** E resumed recording a root. */
  | { event: "resumed"; root: string }
  /**
   * Feature git: a batch of E's changes (what one git operation did) is being placed as one unit: `fetched` once
   * all its content is in temp files on R and nothing is placed yet, `placing` just before its first rename,
   * `placed` just after its last. `files` counts the files whose content was fetched or copied.
   */
  | { event: "batch"; root: string; phase: "fetched" | "placing" | "placed"; changes: number; files: number }
  /** Feature git: E's git state of a root changed (branch, commit, whether E waits for git). */
  | { event: "git"; root: string; branch: string | null; commit: string | null; waitingSince: number | null; reason: string | null };

/** Where a client's events go. */
export type ClientEvents = (event: ClientEvent) => void;

/** Events nobody follows (text output only). */
export const NO_EVENTS: ClientEvents = () => undefined;

/** Events as JSON lines: `{"time":"…","event":"…",…}`. */
export function jsonLineEvents(write: (line: string) => void): ClientEvents {
  return (event) => write(`${terminalJson({ time: new Date().toISOString(), ...event }, 0)}\n`);
}

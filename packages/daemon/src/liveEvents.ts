/**
 * Events of a running daemon, for tools (`zync-daemon --json`): one JSON object per line on stdout, each with the
 * event's name and time. Client ids, addresses and reasons are escaped by the JSON encoding.
 */
import { terminalJson } from "@zync/node";
import type { ActivityLog } from "./store/activityLog.js";
import type { ChangeLog } from "./store/changeLog.js";
import type { StagingStore } from "./upstream/stagingStore.js";

/** What a running daemon tells a tool, one object per event. */
export type DaemonLiveEvent =
  /** The daemon listens at `url`. */
  | { event: "listening"; url: string }
  /** A client proved the token and said who it is. */
  | { event: "client-connected"; client: string; address: string | null }
  /** A client's connection ended; what it was served. */
  | { event: "client-disconnected"; client: string; changes: number; files: number; bytes: number; error: string | null }
  /** Changes were recorded in the change log: how many per root, and the new head. */
  | { event: "changes-recorded"; head: number; roots: Record<string, number> }
  /** The mass-deletion guard halted recording a root. */
  | { event: "halted"; root: string; reason: string }
  /** Recording a root resumed. */
  | { event: "resumed"; root: string }
  /** An upstream session from R finished staging and waits for review with zync-apply. */
  | { event: "session-staged"; session: number; client: string; root: string; changes: number };

/** Where a daemon's events go. */
export type DaemonEvents = (event: DaemonLiveEvent) => void;

/** Events as JSON lines: `{"time":"…","event":"…",…}`. */
export function jsonLineEvents(write: (line: string) => void): DaemonEvents {
  return (event) => write(`${terminalJson({ time: new Date().toISOString(), ...event }, 0)}\n`);
}

/** Follows the change log and the activity log and tells `events` what happens; returns the way to stop. */
export function followDaemon(log: ChangeLog, activity: ActivityLog, events: DaemonEvents): () => void {
  const stops = [
    log.onRecorded((head, recorded) => events({ event: "changes-recorded", head, roots: Object.fromEntries(recorded) })),
    activity.observe((n) => {
      switch (n.kind) {
        case "connected":
          return events({ event: "client-connected", client: n.clientId, address: n.address ?? null });
        case "disconnected":
          return events({ event: "client-disconnected", client: n.clientId, changes: n.changes, files: n.files, bytes: n.bytes, error: n.error ?? null });
        case "halted":
          return events({ event: "halted", root: n.root, reason: n.reason });
        case "resumed":
          return events({ event: "resumed", root: n.root });
      }
    }),
  ];
  return () => stops.forEach((stop) => stop());
}

/** Tells `events` of every upstream session staged for review; returns the way to stop. */
export function followStaging(staging: StagingStore, events: DaemonEvents): () => void {
  return staging.onStaged((s) => events({ event: "session-staged", session: s.id, client: s.clientId, root: s.root, changes: s.changes }));
}

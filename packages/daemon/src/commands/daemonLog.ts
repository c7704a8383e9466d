import { existsSync } from "node:fs";
import { escapeControl, formatBytes, formatTable, formatTime, UsageError } from "@zync/node";
import { ActivityLog, type ServedConnection } from "../store/activityLog.js";
import { openDatabase } from "../store/database.js";

/** The newest connections the daemon served, newest first. */
export function daemonRuns(dbPath: string, limit: number): ServedConnection[] {
  if (!existsSync(dbPath)) throw new UsageError(`no zync database at ${dbPath}; pass the daemon's --db`);
  const db = openDatabase(dbPath);
  try {
    return new ActivityLog(db).served(limit);
  } finally {
    db.close();
  }
}

/** Prints served connections as a table. */
export function printDaemonRuns(runs: readonly ServedConnection[], out: (line: string) => void): void {
  if (runs.length === 0) return out("no connections served yet");
  const rows = [["STARTED", "SECONDS", "CLIENT", "CHANGES", "FILES", "BYTES", "RESULT"]];
  for (const r of runs) {
    const started = formatTime(r.startedAt);
    const secs = r.endedAt === undefined ? "open" : ((r.endedAt - r.startedAt) / 1000).toFixed(1);
    const result = r.endedAt === undefined ? "connected" : r.error ? `error: ${escapeControl(r.error)}` : "ok";
    // A client id is whatever R sent in HELLO: cut first, then escaped, so no escape is cut in half.
    rows.push([started, secs, escapeControl((r.clientId ?? "-").slice(0, 8)), String(r.changes), String(r.files), formatBytes(r.bytes), result]);
  }
  for (const line of formatTable(rows)) out(line);
}

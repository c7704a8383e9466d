import { existsSync } from "node:fs";
import { UsageError } from "@zync/node";
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

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const mib = n / 1024 / 1024;
  return mib < 1 ? `${(n / 1024).toFixed(1)} KiB` : `${mib.toFixed(1)} MiB`;
}

/** Prints served connections as a table. */
export function printDaemonRuns(runs: readonly ServedConnection[], out: (line: string) => void): void {
  if (runs.length === 0) return out("no connections served yet");
  const rows = [["STARTED", "SECONDS", "CLIENT", "CHANGES", "FILES", "BYTES", "RESULT"]];
  for (const r of runs) {
    const started = new Date(r.startedAt).toISOString().replace("T", " ").slice(0, 19);
    const secs = r.endedAt === undefined ? "open" : ((r.endedAt - r.startedAt) / 1000).toFixed(1);
    const result = r.endedAt === undefined ? "connected" : r.error ? `error: ${r.error}` : "ok";
    rows.push([started, secs, (r.clientId ?? "-").slice(0, 8), String(r.changes), String(r.files), size(r.bytes), result]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

import { existsSync } from "node:fs";
import { escapeControl, formatBytes, formatTable, formatTime, UsageError } from "@zync/node";
import { ClientStore, type Run } from "../store/clientStore.js";

/** The newest runs from the client's history. */
export function clientRuns(dbPath: string, limit: number): Run[] {
  if (!existsSync(dbPath)) throw new UsageError(`no client database at ${dbPath}; pass --db`);
  const store = new ClientStore(dbPath);
  try {
    return store.runs(limit);
  } finally {
    store.close();
  }
}

/** Prints runs as a table, newest first. */
export function printRuns(runs: readonly Run[], out: (line: string) => void): void {
  if (runs.length === 0) return out("no runs recorded yet");
  const rows = [["STARTED", "KIND", "SECONDS", "FILES", "DELETED", "BYTES", "CONFLICTS", "RESULT"]];
  for (const r of runs) {
    const secs = r.endedAt === undefined ? "-" : ((r.endedAt - r.startedAt) / 1000).toFixed(1);
    let result = r.endedAt === undefined ? "did not finish" : r.error ? `error: ${escapeControl(r.error)}` : "ok";
    if (r.detail !== undefined) result += ` (${escapeControl(r.detail)})`;
    rows.push([formatTime(r.startedAt), r.kind, secs, String(r.files), String(r.deleted), formatBytes(r.bytes), String(r.conflicts), result]);
  }
  for (const line of formatTable(rows)) out(line);
}

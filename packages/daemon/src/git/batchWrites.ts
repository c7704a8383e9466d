/**
 * Feature "git" on E: the writes a batch collected, made into what the change log records. While a batch is read,
 * nothing reaches the log, so a path can be written twice: a folder that became a file writes the deletions of
 * what it held, and each of those paths, checked in turn against the log as it was, is deleted again after the
 * file. The log keeps a path's latest seq, so the client would be sent the file first, into a folder that is not
 * empty yet. Pure: table tests.
 */
import type { LogWrite } from "../store/changeLog.js";

/**
 * One write per path, where the path was first written, with the state of its last record and the stat key of its
 * last write: the log ends as if the writes ran one by one, and the order a folder's change needs (what it held
 * first) holds. A path that is also forgotten keeps its writes as they are.
 */
export function oneWritePerPath(writes: readonly LogWrite[]): LogWrite[] {
  const id = (w: LogWrite): string => `${w.root}\0${w.path}`;
  const lastRecord = new Map<string, number>();
  const lastKeyed = new Map<string, number>();
  const forgotten = new Set<string>();
  for (const [i, w] of writes.entries()) {
    if (w.op === "forget") forgotten.add(id(w));
    else lastKeyed.set(id(w), i);
    if (w.op === "record") lastRecord.set(id(w), i);
  }
  const out: LogWrite[] = [];
  const written = new Set<string>();
  for (const [i, w] of writes.entries()) {
    const k = id(w);
    if (forgotten.has(k)) out.push(w);
    else if (w.op === "touch") {
      // A touch after the path's last record lends it its key; with no record, only the last touch counts.
      if (!lastRecord.has(k) && lastKeyed.get(k) === i) out.push(w);
    } else if (w.op === "record" && !written.has(k)) {
      written.add(k);
      const last = writes[lastRecord.get(k)!] as LogWrite & { op: "record" };
      const keyed = writes[lastKeyed.get(k)!] as LogWrite & { op: "record" | "touch" };
      out.push({ ...last, key: keyed.key });
    }
  }
  return out;
}

import type { RunReport } from "./pull/runReport.js";
import { formatBytes } from "@zync/node";

/** How often the progress line is redrawn on a terminal, and how long a transfer runs before it appears. */
const TTY_EVERY_MS = 200;
const TTY_AFTER_MS = 500;
/** Without a terminal, one plain line this often while a transfer lasts. */
const PLAIN_EVERY_MS = 10_000;

/**
 * Shows how a long pull is going on stderr: on a terminal, one line redrawn in place (files, bytes, rate) once
 * the pull has lasted a moment; otherwise a plain line every few seconds. Returns the stop function.
 */
export function startProgress(report: RunReport, stream: NodeJS.WriteStream = process.stderr): { stop(): void } {
  const tty = Boolean(stream.isTTY);
  const started = Date.now();
  let drawn = false;
  const line = (): string => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const files = `${report.written}/${Math.max(report.plannedFiles, report.written)} files`;
    const bytes = `${formatBytes(report.bytes)}${report.plannedBytes ? ` of ${formatBytes(report.plannedBytes)}` : ""}`;
    return `pulling: ${files}, ${bytes}, ${formatBytes(report.bytes / secs)}/s`;
  };
  const tick = (): void => {
    if (report.plannedFiles === 0 && report.bytes === 0) return;
    if (tty) {
      stream.write(`\r\x1b[2K${line()}`);
      drawn = true;
    } else {
      stream.write(`${line()}\n`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(
    () => {
      tick();
      timer = setInterval(tick, tty ? TTY_EVERY_MS : PLAIN_EVERY_MS);
      timer.unref();
    },
    tty ? TTY_AFTER_MS : PLAIN_EVERY_MS,
  );
  first.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
      if (drawn) stream.write("\r\x1b[2K");
    },
  };
}

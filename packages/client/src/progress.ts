import cliProgress from "cli-progress";
import { formatBytes, showOnTerminal } from "@zync/node";
import type { RunReport } from "./pull/runReport.js";

/** What a transfer has done and planned so far, read at every redraw. */
export type TransferCounters = {
  /** Files transferred, and planned so far (the plan grows as pages of changes arrive). */
  files: number;
  plannedFiles: number;
  bytes: number;
  plannedBytes: number;
};

/** How often the bar is redrawn on a terminal, and how long a small transfer runs before it appears. */
const TTY_EVERY_MS = 200;
const TTY_AFTER_MS = 500;
/** Without a terminal, one plain line this often while a transfer lasts. */
const PLAIN_EVERY_MS = 10_000;
/** A transfer planned this large shows its bar at once, and always leaves it drawn at the end. */
const LARGE_FILES = 100;
const LARGE_BYTES = 8 * 1024 * 1024;

/** The parts of a progress display, as text: one decision, shared by the bar and the plain lines. */
export type ProgressText = {
  /** How far along, from 0 to 1 (by bytes when any are planned, else by files). */
  ratio: number;
  files: string;
  bytes: string;
  rate: string;
  eta: string;
};

/** A duration for an ETA: `45s`, `3m05s`, `2h10m`; `?` before anything has moved. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The progress of `c` after `elapsedMs`: counts, sizes, the average rate, and the time left at that rate. */
export function progressText(c: TransferCounters, elapsedMs: number): ProgressText {
  const plannedFiles = Math.max(c.plannedFiles, c.files);
  const plannedBytes = Math.max(c.plannedBytes, c.bytes);
  const secs = Math.max(0.001, elapsedMs / 1000);
  const rate = c.bytes / secs;
  const byBytes = plannedBytes > 0;
  const ratio = byBytes ? c.bytes / plannedBytes : plannedFiles > 0 ? c.files / plannedFiles : 0;
  const left = byBytes ? (rate > 0 ? (plannedBytes - c.bytes) / rate : Number.NaN) : c.files > 0 ? ((plannedFiles - c.files) * secs) / c.files : Number.NaN;
  return {
    ratio,
    files: `${c.files}/${plannedFiles} files`,
    bytes: `${formatBytes(c.bytes)}${plannedBytes > 0 ? ` of ${formatBytes(plannedBytes)}` : ""}`,
    rate: `${formatBytes(rate)}/s`,
    eta: ratio >= 1 ? "0s" : formatEta(left),
  };
}

const isLarge = (c: TransferCounters): boolean => c.plannedFiles >= LARGE_FILES || c.plannedBytes >= LARGE_BYTES;
const hasWork = (c: TransferCounters): boolean => c.plannedFiles > 0 || c.bytes > 0;

/**
 * Shows how a long transfer is going on `stream` (stderr). On a terminal: a progress bar (files, bytes, rate,
 * ETA) once the transfer has lasted a moment, or at once when it is planned large, left drawn at its final state
 * when it ends. Otherwise: a plain line every few seconds, and nothing for a short transfer. Returns the stop
 * function.
 */
export function startTransferProgress(
  read: () => TransferCounters,
  verb: "pulling" | "pushing",
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = Date.now,
): { stop(): void } {
  const started = now();
  if (!stream.isTTY) {
    const tick = (): void => {
      const c = read();
      if (!hasWork(c)) return;
      const t = progressText(c, now() - started);
      stream.write(`${verb}: ${t.files}, ${t.bytes}, ${t.rate}, about ${t.eta} left\n`);
    };
    const timer = setInterval(tick, PLAIN_EVERY_MS);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
  const bar = new cliProgress.SingleBar({
    stream,
    fps: 1000 / TTY_EVERY_MS,
    barsize: 24,
    hideCursor: false,
    // Also redraw an unchanged line: a message printed above the bar has just cleared it.
    forceRedraw: true,
    clearOnComplete: false,
    linewrap: false,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    // Drawn from the counters as they are now, so the bar, the percentage and the numbers always agree.
    format: (options) => {
      const t = progressText(read(), now() - started);
      const ratio = Math.min(1, t.ratio);
      const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
      return `${verb} ${cliProgress.Format.BarFormat(ratio, options)} ${pct} | ${t.files} | ${t.bytes} | ${t.rate} | ETA ${t.eta}`;
    },
  });
  // The bar saves the cursor when it starts and restores it when it stops; once messages have scrolled past it,
  // that would send what follows back up over them. The bar ends where it stands instead.
  const terminal = (bar as unknown as { terminal: { cursorSave(): void; cursorRestore(): void } }).terminal;
  terminal.cursorSave = terminal.cursorRestore = () => undefined;
  let shown = false;
  const show = (c: TransferCounters): void => {
    const value = Math.round(progressText(c, 0).ratio * 1000);
    if (!shown) {
      bar.start(1000, value);
      shown = true;
      // A message printed meanwhile (a warning, a --verbose line) goes above the bar instead of onto its line.
      showOnTerminal({ clear: () => void stream.write("\r\x1b[2K"), redraw: () => bar.render() });
    } else {
      bar.update(value);
    }
  };
  const tick = (): void => {
    const c = read();
    if (hasWork(c) && (shown || isLarge(c) || now() - started >= TTY_AFTER_MS)) show(c);
  };
  const timer = setInterval(tick, TTY_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const c = read();
      // However fast a large transfer went, its final state stays on the screen.
      if (shown || (hasWork(c) && isLarge(c))) {
        show(c);
        showOnTerminal(undefined);
        bar.stop();
      }
    },
  };
}

/** The progress of a pull, from its run report. */
export function startProgress(report: RunReport, stream: NodeJS.WriteStream = process.stderr): { stop(): void } {
  return startTransferProgress(() => ({ files: report.written, plannedFiles: report.plannedFiles, bytes: report.bytes, plannedBytes: report.plannedBytes }), "pulling", stream);
}

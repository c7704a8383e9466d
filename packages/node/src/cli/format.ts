/** Bytes as a short human figure: 512 B, 1.2 KiB, 3.4 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A time as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Rows as columns padded to the widest cell; the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd());
}

/**
 * Characters that must never reach a terminal as they are: C0 controls, DEL, C1 controls, and the Unicode marks
 * that reorder or hide text (bidirectional overrides and isolates, line and paragraph separators).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The characters of {@link UNPRINTABLE} that JSON.stringify leaves raw (it escapes C0 itself). */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function hex(ch: string, width: number): string {
  return ch.charCodeAt(0).toString(16).padStart(width, "0");
}

/**
 * Text from the other side (a path, a client id, a message) made safe to print: each control character becomes a
 * visible escape (`\x1b`, `\x7f`, `\u009b`, `\u202e`) and a backslash becomes `\\`, so nothing can move the
 * cursor, clear a line, hide a name or pass for an escape it is not. Printable text, Unicode included, is kept.
 */
export function escapeControl(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(UNPRINTABLE, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x80 ? `\\x${hex(ch, 2)}` : `\\u${hex(ch, 4)}`;
  });
}

/**
 * JSON for a terminal: like `JSON.stringify(value, null, 2)`, with DEL, C1 and the marks above written as `\u….`
 * escapes too (JSON.stringify leaves them raw). Those characters can only stand inside JSON strings, where the
 * escape means the same character, so the result parses back to the same value.
 */
export function terminalJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON, (ch) => `\\u${hex(ch, 4)}`);
}

import { open, readFile } from "node:fs/promises";
import { createTwoFilesPatch } from "diff";
import type { EntryState } from "@zync/protocol";
import { escapeControl, formatBytes } from "@zync/node";
import { describeState } from "./describe.js";
import type { Paint } from "./colors.js";

/** Files larger than this are summarised, not diffed. */
const MAX_DIFF_BYTES = 2 * 1024 * 1024;

/** True when the first 8 KiB hold a NUL byte (the usual test for binary content). */
async function looksBinary(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).includes(0);
  } finally {
    await handle.close();
  }
}

/** One side of a diff: a state and, for a file, where its content can be read (or the text itself, already read). */
export type Side = { label: string; state: EntryState; contentPath?: string; text?: string };

async function textOf(side: Side): Promise<string | undefined> {
  if (side.text !== undefined) return side.text;
  if (side.state.kind !== "file" || side.contentPath === undefined) return "";
  if (side.state.size > MAX_DIFF_BYTES || (await looksBinary(side.contentPath))) return undefined;
  return readFile(side.contentPath, "utf8");
}

/**
 * A unified diff from E's current version to R's, coloured; binary or large files and non-file states are shown as
 * a one-line summary with sizes and hashes. `maxLines` trims the output (the caller offers the full view).
 */
export async function renderDiff(path: string, from: Side, to: Side, paint: Paint, maxLines = Infinity): Promise<{ text: string; truncated: boolean }> {
  const [a, b] = await Promise.all([textOf(from), textOf(to)]);
  // Text on both sides (a missing side counts as empty, so a new file shows whole): a real diff. Otherwise a summary.
  const textual = (side: Side, text: string | undefined): boolean => side.state.kind === "deleted" || (side.state.kind === "file" && text !== undefined);
  if (!textual(from, a) || !textual(to, b)) {
    const hash = (st: EntryState): string => (st.kind === "file" ? ` (${formatBytes(st.size)}, xxh64 ${st.hash})` : "");
    const text = `${paint.red(`- ${from.label}: ${describeState(from.state)}${hash(from.state)}`)}\n${paint.green(`+ ${to.label}: ${describeState(to.state)}${hash(to.state)}`)}`;
    return { text, truncated: false };
  }
  const patch = createTwoFilesPatch(from.label, to.label, a ?? "", b ?? "", undefined, undefined, { context: 3 });
  // The "====" banner and the two file lines are replaced by our own: a path may hold a newline, which would split
  // a file line in two. R's text is shown with its control characters escaped (tabs kept for indentation).
  const shown = escapeControl(path);
  const lines = [
    `--- ${from.label}/${shown}`,
    `+++ ${to.label}/${shown}`,
    ...patch
      .split("\n")
      .slice(3)
      .map((l) => l.trimEnd().split("\t").map(escapeControl).join("\t")),
  ];
  const coloured = lines.map((l) =>
    l.startsWith("+++") || l.startsWith("---") ? paint.bold(l) : l.startsWith("+") ? paint.green(l) : l.startsWith("-") ? paint.red(l) : l.startsWith("@@") ? paint.cyan(l) : l,
  );
  const truncated = coloured.length > maxLines;
  return { text: (truncated ? coloured.slice(0, maxLines) : coloured).join("\n").trimEnd(), truncated };
}

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { escapeControl } from "@zync/node";
import type { Editor } from "../editor.js";
import type { Choice, Prompter } from "../prompter.js";
import { findConflictMarkers, type MarkerLine } from "./conflictMarkers.js";

/** Prefix of the private folders an edit of a merge is held in, inside the session's folder. */
export const EDIT_DIR_PREFIX = "edit-";

/** What a person's edit of a merge gave: the bytes to apply, or nothing (back to the choices, nothing written). */
export type EditedMerge = { kind: "edited"; bytes: Buffer } | { kind: "back" };

type Again = "again" | "anyway" | "back";

const AGAIN_CHOICES: readonly Choice<Again>[] = [
  { key: "e", name: "edit it again", value: "again" },
  { key: "a", name: "apply it anyway, markers and all", value: "anyway" },
  { key: "b", name: "back to the choices for this file (nothing is written)", value: "back" },
];

/** Where the markers are, in a few words: `line 3, 5, 7` (at most five named). */
function whereMarkers(markers: readonly MarkerLine[]): string {
  const named = markers.slice(0, 5).map((m) => String(m.line));
  return `line${markers.length > 1 ? "s" : ""} ${named.join(", ")}${markers.length > named.length ? ", …" : ""}`;
}

/** What a person sees and answers with while editing a merge. */
export type EditIO = { out: (line: string) => void; prompter: Prompter; editor: Editor };

/**
 * Lets a person edit `start` (a merge, with conflict markers where the sides overlap) in their editor. The file is
 * written into a new private folder (0700, the file 0600) under `sessionDir`, which the daemon never watches nor
 * serves, named like E's file so the editor knows its kind; the folder is removed whatever happens. An editor
 * that fails leaves nothing to apply. A result that still holds conflict markers at line starts is named, and
 * the person chooses to edit again, apply it as it is, or go back.
 */
export async function editMerge(sessionDir: string, fileName: string, start: Buffer, path: string, io: EditIO): Promise<EditedMerge> {
  const dir = await mkdtemp(join(sessionDir, EDIT_DIR_PREFIX));
  try {
    const file = join(dir, fileName);
    await writeFile(file, start, { mode: 0o600, flag: "wx" });
    for (;;) {
      const exit = await io.editor.edit(file);
      if (exit.code !== 0) {
        const how = exit.signal !== null ? `was ended by ${exit.signal}` : `exited with code ${String(exit.code)}`;
        io.out(`  the editor (${escapeControl(io.editor.command)}) ${how}: nothing was written`);
        return { kind: "back" };
      }
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        io.out(`  the edited file could not be read back (${(err as NodeJS.ErrnoException).code ?? "error"}): nothing was written`);
        return { kind: "back" };
      }
      const markers = findConflictMarkers(bytes);
      if (markers.length === 0) return { kind: "edited", bytes };
      io.out(`  the edited merge still holds ${markers.length} conflict marker line(s), at ${whereMarkers(markers)}`);
      const next = await io.prompter.choose(`${path} still has conflict markers:`, AGAIN_CHOICES);
      if (next === "anyway") return { kind: "edited", bytes };
      if (next === "back") return { kind: "back" };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { hashBytes } from "@zync/node";
import { BIN } from "../helpers/bins.js";
import { freshPrompt, runInPty, type PtyStep } from "../helpers/pty.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { outcomes, withUpstreamPair, type UpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FIVE = "line1\nline2\nline3\nline4\nline5\n";

/**
 * A stand-in for a person's editor: a shell script that, on its Nth run, records the file it was given (path,
 * mode, content as it found it), reads a line typed on the terminal when `ask-N` exists, then puts `result-N` in
 * the file (followed by the typed line) and exits with `exit-N` (default 0). Without `result-N` the file stays
 * as it was.
 */
type FakeEditor = {
  script: string;
  /** What the Nth run does. */
  plan(run: number, step: { result?: string; ask?: boolean; exit?: number }): void;
  runs(): number;
  seen(run: number): Buffer;
  path(run: number): string;
  mode(run: number): string;
};

function fakeEditor(): FakeEditor {
  const dir = tempDir("zync-editor-");
  const script = `${dir}/edit.sh`;
  writeFileSync(
    script,
    `#!/bin/sh
dir=$(dirname "$0")
n=$(( $(cat "$dir/runs" 2>/dev/null || echo 0) + 1 ))
echo $n > "$dir/runs"
printf '%s' "$1" > "$dir/path-$n"
stat -c %a "$1" > "$dir/mode-$n"
cp "$1" "$dir/seen-$n"
answer=
if [ -f "$dir/ask-$n" ]; then printf 'editor> '; read -r answer; fi
if [ -f "$dir/result-$n" ]; then cp "$dir/result-$n" "$1"; fi
if [ -n "$answer" ]; then printf '%s\\n' "$answer" >> "$1"; fi
exit $(cat "$dir/exit-$n" 2>/dev/null || echo 0)
`,
    { mode: 0o755 },
  );
  return {
    script,
    plan(run, step) {
      if (step.result !== undefined) writeFileSync(`${dir}/result-${run}`, step.result);
      if (step.ask) writeFileSync(`${dir}/ask-${run}`, "");
      if (step.exit !== undefined) writeFileSync(`${dir}/exit-${run}`, String(step.exit));
    },
    runs: () => (existsSync(`${dir}/runs`) ? Number(readFileSync(`${dir}/runs`, "utf8")) : 0),
    seen: (run) => readFileSync(`${dir}/seen-${run}`),
    path: (run) => readFileSync(`${dir}/path-${run}`, "utf8"),
    mode: (run) => readFileSync(`${dir}/mode-${run}`, "utf8").trim(),
  };
}

/** Runs `zync-apply apply ID` in a pseudo-terminal with the given editor settings (PAGER=cat, no colour). */
function applyInPty(db: string, id: number, steps: readonly PtyStep[], env: Record<string, string>) {
  return runInPty([process.execPath, BIN.apply, "--db", db, "apply", String(id)], steps, { env: { ZYNC_TOKEN: "", PAGER: "cat", NO_COLOR: "1", VISUAL: "", ...env } });
}

/** A conflict on notes.txt: E's and R's edits of `base` (served to R, so in E's version store) pushed as a session. */
async function overlapSession(pair: UpstreamPair, base: string, eText: string, rText: string): Promise<number> {
  const baseHash = await hashBytes(Buffer.from(base));
  await waitFor(() => existsSync(`${pair.db}.versions/${baseHash}.gz`) || undefined, "the served version in E's version store");
  writeFileSync(`${pair.r}/notes.txt`, rText);
  writeFileSync(`${pair.e}/notes.txt`, eText);
  return pair.pushSession();
}

/** The folders the review's edits were held in, left in the session's folder. */
function editFolders(db: string, id: number): string[] {
  return readdirSync(`${db}.staging/${id}`).filter((name) => name.startsWith("edit-"));
}

describe("zync-apply: editing a merge in the person's editor", () => {
  test("overlapping edits open with conflict markers in a private file outside the root; what the person saves is applied as a merge", async () => {
    await withUpstreamPair({ "notes.txt": FIVE }, async (pair) => {
      const { e, db, apply } = pair;
      const id = await overlapSession(pair, FIVE, FIVE.replace("line3", "line3 E"), FIVE.replace("line3", "line3 R"));
      const editor = fakeEditor();
      // The person types the last line in the editor: the terminal is the editor's while it runs.
      editor.plan(1, { result: "line1\nline2\nline3 E and R\nline4\n", ask: true });

      // The editor command is split by the shell, as git does: an interpreter and a quoted script path.
      const run = await applyInPty(
        db,
        id,
        [
          { expect: freshPrompt("notes.txt"), send: "o\r" },
          { expect: "editor> ", send: "line5\r" },
        ],
        { EDITOR: `sh '${editor.script}'` },
      );
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/o\) open the merge in your editor/);
      expect(editor.seen(1).toString("latin1")).toBe("line1\nline2\n<<<<<<< E\nline3 E\n||||||| base\nline3\n=======\nline3 R\n>>>>>>> R\nline4\nline5\n");
      expect(editor.mode(1)).toBe("600");
      const held = editor.path(1);
      expect(relative(`${db}.staging/${id}`, held)).toMatch(/^edit-[^/]+\/notes\.txt$/);
      expect(relative(e, held).startsWith("..")).toBe(true);
      expect(existsSync(held)).toBe(false);
      expect(editFolders(db, id)).toEqual([]);

      expect(readFileSync(`${e}/notes.txt`, "latin1")).toBe("line1\nline2\nline3 E and R\nline4\nline5\n");
      // The result is shown against E's file before it is applied, and recorded as a merge.
      expect(run.output).toMatch(/--- E\/notes\.txt\n\+\+\+ edited\/notes\.txt\n[\s\S]*-line3 E\n\+line3 E and R/);
      expect(run.output).toMatch(/merged notes\.txt/);
      expect(await outcomes(db, id)).toEqual({ "notes.txt": "applied" });
      const history = await apply(["history"]);
      expect(history.stdout).toMatch(/^ {2}merged +notes\.txt$/m);
    });
  });

  test("an editor that exits non-zero writes nothing and leads back to the choices", async () => {
    await withUpstreamPair({ "notes.txt": FIVE }, async (pair) => {
      const { e, db } = pair;
      const eText = FIVE.replace("line3", "line3 E");
      const id = await overlapSession(pair, FIVE, eText, FIVE.replace("line3", "line3 R"));
      const editor = fakeEditor();
      editor.plan(1, { result: "saved by an editor that then failed\n", exit: 3 });

      // VISUAL comes before EDITOR.
      const run = await applyInPty(
        db,
        id,
        [
          { expect: freshPrompt("notes.txt"), send: "o\r" },
          { expect: freshPrompt("notes.txt"), send: "e\r" },
        ],
        { VISUAL: editor.script, EDITOR: "/bin/false" },
      );
      expect(run.code).toBe(0);
      expect(editor.runs()).toBe(1);
      expect(run.output).toMatch(/the editor \(.*edit\.sh\) exited with code 3: nothing was written/);
      expect(readFileSync(`${e}/notes.txt`, "latin1")).toBe(eText);
      expect(await outcomes(db, id)).toEqual({ "notes.txt": "skipped" });
      expect(existsSync(editor.path(1))).toBe(false);
      expect(editFolders(db, id)).toEqual([]);
      expect(readdirSync(`${db}.staging/${id}`)).not.toContain("merged");
    });
  });

  test("a result still holding conflict markers is named with their count, and editing again keeps what was saved", async () => {
    await withUpstreamPair({ "notes.txt": FIVE }, async (pair) => {
      const { e, db } = pair;
      const eText = FIVE.replace("line3", "line3 E");
      const id = await overlapSession(pair, FIVE, eText, FIVE.replace("line3", "line3 R"));
      const editor = fakeEditor();
      editor.plan(2, { result: "line1\nline2\nline3 R then E\nline4\nline5\n" });

      const run = await applyInPty(
        db,
        id,
        [
          { expect: freshPrompt("notes.txt"), send: "o\r" },
          { expect: /\? notes\.txt still has conflict markers:[ \t]*\n/, send: "e\r" },
        ],
        { EDITOR: editor.script },
      );
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/the edited merge still holds 4 conflict marker line\(s\), at lines 3, 5, 7, 9/);
      expect(run.output).toMatch(/e\) edit it again/);
      expect(run.output).toMatch(/a\) apply it anyway/);
      expect(run.output).toMatch(/b\) back to the choices/);
      // The second run found the file as the first left it.
      expect(editor.runs()).toBe(2);
      expect(editor.seen(2)).toEqual(editor.seen(1));
      expect(readFileSync(`${e}/notes.txt`, "latin1")).toBe("line1\nline2\nline3 R then E\nline4\nline5\n");
      expect(await outcomes(db, id)).toEqual({ "notes.txt": "applied" });
      expect(existsSync(editor.path(2))).toBe(false);
    });
  });

  test("a CRLF file keeps CRLF: the marker lines end in CRLF and the saved bytes reach E's file exactly", async () => {
    const base = "one\r\ntwo\r\nthree\r\n";
    await withUpstreamPair({ "notes.txt": base }, async (pair) => {
      const { e, db } = pair;
      const id = await overlapSession(pair, base, "one\r\ntwo E\r\nthree\r\n", "one\r\ntwo R\r\nthree\r\n");
      const editor = fakeEditor();
      editor.plan(1, { result: "one\r\ntwo E, two R\r\nthree\r\n" });

      const run = await applyInPty(db, id, [{ expect: freshPrompt("notes.txt"), send: "o\r" }], { EDITOR: editor.script });
      expect(run.code).toBe(0);
      expect(editor.seen(1).toString("latin1")).toBe("one\r\n<<<<<<< E\r\ntwo E\r\n||||||| base\r\ntwo\r\n=======\r\ntwo R\r\n>>>>>>> R\r\nthree\r\n");
      expect(readFileSync(`${e}/notes.txt`, "latin1")).toBe("one\r\ntwo E, two R\r\nthree\r\n");
      expect(await outcomes(db, id)).toEqual({ "notes.txt": "applied" });
    });
  });
});

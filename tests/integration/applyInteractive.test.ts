import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { BIN } from "../helpers/bins.js";
import { freshPrompt, runInPty, type PtyStep } from "../helpers/pty.js";
import { removeTempDirs } from "../helpers/tempDir.js";
import { listSessions, outcomes, withUpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const A = "one\ntwo\nthree\nfour\n";
const B = "bee\nbuzz\n";
const START = { "a.txt": A, "b.txt": B };

const R_A = "one\nTWO, changed on R\nthree\nfour\n";
const R_B = "bee\nbuzz, changed on R\n";

/**
 * Runs `zync-apply --db DB apply ID` in a pseudo-terminal, typing each step's keys once its prompt is shown. The
 * full diff is printed, not paged (PAGER=cat), so the output holds it.
 */
function applyInPty(db: string, id: number, steps: readonly PtyStep[], env: Record<string, string> = { NO_COLOR: "1" }) {
  return runInPty([process.execPath, BIN.apply, "--db", db, "apply", String(id)], steps, { env: { ZYNC_TOKEN: "", PAGER: "cat", ...env } });
}

/** The lines of `output`, trimmed at the end. */
function lines(output: string): string[] {
  return output.split("\n").map((l) => l.trimEnd());
}

describe("zync-apply apply, interactively in a terminal", () => {
  test("each change is shown as a diff of E's file against R's before the question", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      const id = await pushSession();

      const run = await applyInPty(db, id, [{ expect: freshPrompt("a.txt"), send: "q\r" }]);
      expect(run.code).toBe(0);
      const out = lines(run.output);
      const prompt = out.findIndex((l) => l.startsWith("? a.txt:"));
      expect(prompt).toBeGreaterThan(0);
      const beforePrompt = out.slice(0, prompt);
      expect(beforePrompt).toContain("--- E/a.txt");
      expect(beforePrompt).toContain("+++ R/a.txt");
      expect(beforePrompt).toContain("-two");
      expect(beforePrompt).toContain("+TWO, changed on R");
      // Unchanged lines are context, not changes.
      expect(beforePrompt).toContain(" one");
      expect(beforePrompt).not.toContain("-one");
      // NO_COLOR: no colour codes at all.
      expect(run.raw).not.toMatch(/\x1b\[3[0-9]m/);
      // Quitting applied nothing.
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(A);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "pending" });
    });
  });

  test("a new file's diff shows it whole", async () => {
    await withUpstreamPair(START, async ({ db, r, pushSession }) => {
      writeFileSync(`${r}/n.txt`, "first new line\nsecond new line\n");
      const id = await pushSession();

      const run = await applyInPty(db, id, [{ expect: freshPrompt("n.txt"), send: "q\r" }]);
      expect(run.code).toBe(0);
      const out = lines(run.output);
      const beforePrompt = out.slice(0, out.findIndex((l) => l.startsWith("? n.txt:")));
      expect(beforePrompt).toContain("+++ R/n.txt");
      expect(beforePrompt).toContain("+first new line");
      expect(beforePrompt).toContain("+second new line");
    });
  });

  test("in a terminal without NO_COLOR, removed lines are red and added lines green", async () => {
    await withUpstreamPair(START, async ({ db, r, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      const id = await pushSession();

      const run = await applyInPty(db, id, [{ expect: freshPrompt("a.txt"), send: "q\r" }], { NO_COLOR: "" });
      expect(run.code).toBe(0);
      expect(run.raw).toContain("\x1b[31m-two\x1b[39m");
      expect(run.raw).toContain("\x1b[32m+TWO, changed on R\x1b[39m");
    });
  });

  test("apply one, skip the other: E gets only the applied one and show records applied/skipped", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFileSync(`${r}/b.txt`, R_B);
      const id = await pushSession();

      const run = await applyInPty(db, id, [
        { expect: freshPrompt("a.txt"), send: "a\r" },
        { expect: freshPrompt("b.txt"), send: "s\r" },
      ]);
      expect(run.code).toBe(0);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(B);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "skipped" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied", pending: 0 })]);
    });
  });

  test("'v' shows the full diff when the preview was cut, then asks again", async () => {
    const long = Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join("");
    await withUpstreamPair({ "long.txt": long }, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/long.txt`, long.replace(/^line (\d+)$/gm, "LINE $1 on R"));
      const id = await pushSession();

      const run = await applyInPty(db, id, [
        { expect: freshPrompt("long.txt"), send: "v\r" },
        { expect: freshPrompt("long.txt"), send: "s\r" },
      ]);
      expect(run.code).toBe(0);
      const out = lines(run.output);
      const prompts = out.flatMap((l, i) => (l.startsWith("? long.txt:") && !/^\? long\.txt: \S/.test(l) ? [i] : []));
      expect(prompts).toHaveLength(2);
      const [first, second] = prompts as [number, number];
      // The preview stops short of the end and says there is more; the full view shows the last line too.
      expect(out.slice(0, first)).not.toContain("+LINE 60 on R");
      expect(out.slice(0, first).some((l) => /more lines/.test(l))).toBe(true);
      expect(out.slice(first, second)).toContain("+LINE 60 on R");
      expect(out.slice(first, second)).toContain("-line 60");
      expect(readFileSync(`${e}/long.txt`, "utf8")).toBe(long);
      expect(await outcomes(db, id)).toEqual({ "long.txt": "skipped" });
    });
  });

  test("'q' leaves the rest pending (session partial); the next apply asks only about what is left", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFileSync(`${r}/b.txt`, R_B);
      const id = await pushSession();

      const first = await applyInPty(db, id, [
        { expect: freshPrompt("a.txt"), send: "a\r" },
        { expect: freshPrompt("b.txt"), send: "q\r" },
      ]);
      expect(first.code).toBe(0);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(B);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "pending" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "partial", pending: 1 })]);
      expect(await listSessions(db, false)).toEqual([expect.objectContaining({ id, status: "partial" })]);

      const second = await applyInPty(db, id, [{ expect: freshPrompt("b.txt"), send: "a\r" }]);
      expect(second.code).toBe(0);
      expect(second.output).toMatch(/1 change\(s\) pending/);
      expect(second.output).not.toMatch(/\? a\.txt:/);
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(R_B);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "applied" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "applied", pending: 0 })]);
    });
  });

  test("'l' applies every remaining change that does not conflict without asking again", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFileSync(`${r}/b.txt`, R_B);
      writeFileSync(`${r}/c.txt`, "c, new on R\n");
      const id = await pushSession();

      const run = await applyInPty(db, id, [{ expect: freshPrompt("a.txt"), send: "l\r" }]);
      expect(run.code).toBe(0);
      expect(run.output).not.toMatch(/\? b\.txt:/);
      expect(run.output).not.toMatch(/\? c\.txt:/);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(R_B);
      expect(readFileSync(`${e}/c.txt`, "utf8")).toBe("c, new on R\n");
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "applied", "c.txt": "applied" });
    });
  });

  test("Ctrl-C at a prompt exits 130 and keeps what was decided before it", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/a.txt`, R_A);
      writeFileSync(`${r}/b.txt`, R_B);
      const id = await pushSession();

      const run = await applyInPty(db, id, [
        { expect: freshPrompt("a.txt"), send: "a\r" },
        { expect: freshPrompt("b.txt"), send: "\x03" },
      ]);
      expect(run.code).toBe(130);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(B);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "pending" });
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id, status: "partial" })]);
    });
  });

  test("a conflict is asked about first, and 'e' keeps E's version", async () => {
    await withUpstreamPair(START, async ({ e, r, db, pushSession }) => {
      // a.txt is staged first and does not conflict; b.txt comes later and conflicts.
      writeFileSync(`${r}/a.txt`, R_A);
      writeFileSync(`${r}/b.txt`, R_B);
      const E_B = "bee\nbuzz, changed on E too\n";
      writeFileSync(`${e}/b.txt`, E_B);
      const id = await pushSession();

      const run = await applyInPty(db, id, [
        { expect: freshPrompt("b.txt"), send: "e\r" },
        { expect: freshPrompt("a.txt"), send: "a\r" },
      ]);
      expect(run.code).toBe(0);
      const out = run.output;
      const conflictAt = out.search(/CONFLICT b\.txt/);
      expect(conflictAt).toBeGreaterThanOrEqual(0);
      expect(conflictAt).toBeLessThan(out.search(/\? a\.txt:/));
      expect(out.search(/\? b\.txt:/)).toBeLessThan(out.search(/\? a\.txt:/));
      // The conflict's choices are R's or E's version, not a plain apply.
      expect(out).toMatch(/r\) use R's version/);
      expect(out).toMatch(/e\) keep E's version/);

      expect(readFileSync(`${e}/b.txt`, "utf8")).toBe(E_B);
      expect(readFileSync(`${e}/a.txt`, "utf8")).toBe(R_A);
      expect(await outcomes(db, id)).toEqual({ "a.txt": "applied", "b.txt": "skipped" });
      // E's a.txt, which R's version overwrote, is kept; keeping E's b.txt copies nothing aside.
      const replacedDir = `${db}.staging/${id}/replaced`;
      expect(readdirSync(replacedDir).map((f) => readFileSync(`${replacedDir}/${f}`, "utf8"))).toEqual([A]);
    });
  });

  test("a conflict whose edits do not overlap is merged in one keystroke, 'merge' offered first with each side's changes shown", async () => {
    const FIVE = "line1\nline2\nline3\nline4\nline5\n";
    await withUpstreamPair({ "five.txt": FIVE }, async ({ e, r, db, pushSession }) => {
      // The base is the version the daemon served R in the initial sync, kept in the background.
      const baseHash = await hashBytes(Buffer.from(FIVE));
      await waitFor(() => existsSync(`${db}.versions/${baseHash}.gz`) || undefined, "the served version in E's version store");
      writeFileSync(`${r}/five.txt`, FIVE.replace("line5", "line5 R"));
      writeFileSync(`${e}/five.txt`, FIVE.replace("line1", "line1 E"));
      const id = await pushSession();

      const run = await applyInPty(db, id, [{ expect: freshPrompt("five.txt"), send: "m\r" }]);
      expect(run.code).toBe(0);
      const out = lines(run.output);
      const offered = out.findIndex((l) => /m\) merge: keep both E's and R's changes/.test(l));
      expect(offered).toBeGreaterThanOrEqual(0);
      expect(offered).toBeLessThan(out.findIndex((l) => /r\) use R's version/.test(l)));
      expect(out).toContain("what R changed:");
      expect(out).toContain("what E changed:");
      expect(out).toContain("+line5 R");
      expect(out).toContain("+line1 E");
      expect(readFileSync(`${e}/five.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
      expect(await outcomes(db, id)).toEqual({ "five.txt": "applied" });
    });
  });
});

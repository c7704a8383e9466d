import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { BIN } from "../helpers/bins.js";
import { freshPrompt, runInPty, type PtyStep } from "../helpers/pty.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { outcomes, showSession, withUpstreamPair, writeFiles } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** Runs `zync-apply --db DB apply ID` in a pseudo-terminal (50 lines high), typing each step's keys once its prompt is shown; PAGER=cat unless `env` says otherwise. */
function applyInPty(db: string, id: number, steps: readonly PtyStep[], env: Record<string, string> = {}) {
  return runInPty([process.execPath, BIN.apply, "--db", db, "apply", String(id)], steps, { env: { ZYNC_TOKEN: "", NO_COLOR: "1", PAGER: "cat", ...env } });
}

/** A PAGER that records each run (LESS and everything it was given), and shows nothing. */
function fakePager(): { command: string; record: string; ran(): boolean; input(): string } {
  const dir = tempDir("zync-pager-");
  const record = `${dir}/paged.txt`;
  const command = `${dir}/pager.sh`;
  writeFileSync(command, `#!/bin/sh\n{ echo "LESS=$LESS"; cat; } >> '${record}'\n`);
  chmodSync(command, 0o755);
  return { command, record, ran: () => existsSync(record), input: () => readFileSync(record, "utf8") };
}

/** Waits until the daemon's version store holds `content` (the base a merge needs), as served in the first sync. */
async function baseStored(db: string, content: string): Promise<string> {
  const file = `${db}.versions/${await hashBytes(Buffer.from(content))}.gz`;
  await waitFor(() => existsSync(file) || undefined, "the served version in E's version store");
  return file;
}

const FIVE = "line1\nline2\nline3\nline4\nline5\n";
const LONG = Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join("");

describe("zync-apply show says whether each conflict can be merged", () => {
  test("clean, overlapping, and no stored base, in text and in --json", async () => {
    await withUpstreamPair({ "clean.txt": FIVE, "overlap.txt": FIVE, "nobase.txt": FIVE.replace("line3", "line three") }, async ({ e, r, db, pushSession, apply }) => {
      await baseStored(db, FIVE);
      const noBase = await baseStored(db, FIVE.replace("line3", "line three"));
      writeFileSync(`${r}/clean.txt`, FIVE.replace("line5", "line5 R"));
      writeFileSync(`${e}/clean.txt`, FIVE.replace("line1", "line1 E"));
      writeFileSync(`${r}/overlap.txt`, FIVE.replace("line3", "line3 R"));
      writeFileSync(`${e}/overlap.txt`, FIVE.replace("line3", "line3 E"));
      writeFileSync(`${r}/nobase.txt`, "R\n");
      writeFileSync(`${e}/nobase.txt`, "E\n");
      const id = await pushSession();
      rmSync(noBase);

      const merge = Object.fromEntries((await showSession(db, id)).changes.map((c) => [c.path, c.merge]));
      expect(merge).toEqual({
        "clean.txt": { kind: "clean" },
        "overlap.txt": { kind: "overlap", overlaps: 1 },
        "nobase.txt": { kind: "unavailable", reason: "the version both sides started from is not in E's version store" },
      });
      const text = await apply(["show", String(id)]);
      expect(text.code).toBe(0);
      const after = (path: string): string | undefined => {
        const lines = text.stdout.split("\n");
        return lines[lines.findIndex((l) => l.includes(` ${path} `)) + 1]?.trim();
      };
      expect(after("clean.txt")).toBe("E's and R's changes do not overlap: they can be merged.");
      expect(after("overlap.txt")).toBe("no clean merge: E's and R's changes overlap in 1 place(s).");
      expect(after("nobase.txt")).toBe("merge not offered: the version both sides started from is not in E's version store.");
    });
  });

  test("a binary conflict says the file is binary", async () => {
    const binary = Buffer.from([0, 1, 2, 3, 10]);
    await withUpstreamPair({ "bin.dat": binary.toString("latin1") }, async ({ e, r, db, pushSession }) => {
      await waitFor(async () => existsSync(`${db}.versions/${await hashBytes(binary)}.gz`) || undefined, "the binary base in E's version store");
      writeFileSync(`${r}/bin.dat`, Buffer.concat([binary, Buffer.from("R")]));
      writeFileSync(`${e}/bin.dat`, Buffer.concat([binary, Buffer.from("E")]));
      const id = await pushSession();
      expect((await showSession(db, id)).changes.map((c) => [c.path, c.merge])).toEqual([["bin.dat", { kind: "unavailable", reason: "the file is binary" }]]);
    });
  });
});

/** A name R could give a file: a screen clear, a window-title escape, a bell, a carriage return and a newline. */
const HOSTILE = "hostile\x1b[2J\x1b]0;owned\x07\r\n.txt";
const HOSTILE_SHOWN = "hostile\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0a.txt";
/** Any control character but the newline that ends a line. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

describe("zync-apply shows R's paths with control characters escaped", () => {
  test("in show, list, a non-interactive apply and the interactive review with its diff", async () => {
    await withUpstreamPair({ "plain.txt": "plain\n" }, async ({ e, r, db, pushSession, apply }) => {
      writeFileSync(`${r}/${HOSTILE}`, "R's text\n");
      writeFileSync(`${e}/${HOSTILE}`, "E's text\n");
      const id = await pushSession();

      const shown = await apply(["show", String(id)]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toMatch(RAW_CONTROL);
      expect(shown.stdout).toContain(` ${HOSTILE_SHOWN} `);
      const json = await apply(["show", String(id), "--json"]);
      expect(json.stdout).not.toMatch(RAW_CONTROL);
      expect((await showSession(db, id)).changes.map((c) => c.path)).toEqual([HOSTILE]);
      const listed = await apply(["list"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toMatch(RAW_CONTROL);
      const refused = await apply(["apply", String(id), "--non-interactive"]);
      expect(refused.code).toBe(3);
      expect(`${refused.stdout}${refused.stderr}`).not.toMatch(RAW_CONTROL);
      expect(refused.stdout).toContain(`conflict: ${HOSTILE_SHOWN} (changed on E too)`);

      const run = await applyInPty(db, id, [{ expect: freshPrompt(HOSTILE_SHOWN), send: "e\r" }]);
      expect(run.code).toBe(0);
      for (const escape of ["\x1b[2J", "\x1b]0;", "\x07", "owned\r"]) expect(run.raw).not.toContain(escape);
      const out = run.output.split("\n");
      // The diff's file lines name the path whole, on one line each.
      expect(out).toContain(`--- E/${HOSTILE_SHOWN}`);
      expect(out).toContain(`+++ R/${HOSTILE_SHOWN}`);
      expect(out.some((l) => l.includes(`CONFLICT ${HOSTILE_SHOWN}: E has file`))).toBe(true);
      expect(readFileSync(`${e}/${HOSTILE}`, "utf8")).toBe("E's text\n");
      expect(await outcomes(db, id)).toEqual({ [HOSTILE]: "skipped" });
    });
  });
});

const GEN = Array.from({ length: 22 }, (_, i) => `gen/part${String(i).padStart(2, "0")}.txt`);
const SRC = ["src/main.ts", "src/util.ts", "src/more.ts"];

describe("a long session is grouped by folder with counts", () => {
  test("in show and in the interactive review's overview", async () => {
    await withUpstreamPair(Object.fromEntries([...GEN, ...SRC].map((p) => [p, `${p}\n`])), async ({ e, r, db, pushSession, apply }) => {
      for (const p of [...GEN, ...SRC]) writeFileSync(`${r}/${p}`, `${p} on R\n`);
      for (const p of GEN.slice(0, 2)) writeFileSync(`${e}/${p}`, `${p} on E\n`);
      const id = await pushSession();

      const shown = await apply(["show", String(id)]);
      expect(shown.code).toBe(0);
      const lines = shown.stdout.split("\n").map((l) => l.trimEnd());
      const gen = lines.indexOf("  gen/  22 change(s), 2 in conflict");
      const src = lines.indexOf("  src/  3 change(s)");
      expect(gen).toBeGreaterThan(0);
      expect(src).toBeGreaterThan(gen);
      // Under its folder's heading, a change is named relative to the folder.
      expect(lines.slice(gen + 1, src).filter((l) => /^ {4}.{8} modify  part\d\d\.txt /.test(l))).toHaveLength(22);
      expect(lines.slice(gen + 1, src).some((l) => /^ {4}CONFLICT modify  part00\.txt /.test(l))).toBe(true);
      expect(lines.slice(src + 1).some((l) => /^ {4} {8} modify  main\.ts /.test(l))).toBe(true);

      const run = await applyInPty(db, id, [{ expect: freshPrompt("gen/part00.txt"), send: "q\r" }]);
      expect(run.code).toBe(0);
      const overview = run.output.split("\n").map((l) => l.trimEnd());
      const at = overview.indexOf("  by folder (2):");
      expect(at).toBeGreaterThan(0);
      expect(overview.slice(at + 1, at + 3)).toEqual(["    gen/  22 change(s), 2 in conflict", "    src/  3 change(s)"]);
    });
  });
});

describe("the interactive review settles every remaining conflict under a folder in one choice", () => {
  test("'t' takes R's version under gen/, 'k' keeps E's under lib/, and the last conflict is asked alone", async () => {
    const files = ["gen/a.txt", "gen/b.txt", "gen/sub/c.txt", "lib/x.txt", "lib/y.txt", "zz/last.txt"];
    await withUpstreamPair(Object.fromEntries(files.map((p) => [p, `${p}\n`])), async ({ e, r, db, pushSession }) => {
      for (const p of files) {
        writeFileSync(`${r}/${p}`, `${p} on R\n`);
        writeFileSync(`${e}/${p}`, `${p} on E\n`);
      }
      writeFiles(r, { "new.txt": "new on R\n" });
      const id = await pushSession();

      const run = await applyInPty(db, id, [
        { expect: freshPrompt("gen/a.txt"), send: "t\r" },
        { expect: freshPrompt("lib/x.txt"), send: "k\r" },
        { expect: freshPrompt("zz/last.txt"), send: "e\r" },
        { expect: freshPrompt("new.txt"), send: "a\r" },
      ]);
      expect(run.code).toBe(0);
      const out = run.output;
      expect(out).toContain("t) take R's version for this and every remaining conflict under gen/ (2 more)");
      expect(out).toContain("k) keep E's version for this and every remaining conflict under lib/ (1 more)");
      for (const p of ["gen/b.txt", "gen/sub/c.txt", "lib/y.txt"]) expect(out).not.toMatch(freshPrompt(p));
      // Nothing remains under zz/'s folder but non-conflicts: no folder choice there.
      expect(out.slice(out.search(/CONFLICT zz\/last\.txt/))).not.toMatch(/every remaining conflict/);
      for (const p of files.slice(0, 3)) expect(readFileSync(`${e}/${p}`, "utf8")).toBe(`${p} on R\n`);
      for (const p of files.slice(3)) expect(readFileSync(`${e}/${p}`, "utf8")).toBe(`${p} on E\n`);
      expect(await outcomes(db, id)).toEqual({
        "gen/a.txt": "applied",
        "gen/b.txt": "applied",
        "gen/sub/c.txt": "applied",
        "lib/x.txt": "skipped",
        "lib/y.txt": "skipped",
        "zz/last.txt": "skipped",
        "new.txt": "applied",
      });
    });
  });
});

describe("the full diff pages through PAGER only when it does not fit a terminal", () => {
  test("on a terminal, a diff longer than it goes to PAGER (with LESS=FRX) and one that fits is printed; with stdout a pipe, nothing is paged", async () => {
    const pager = fakePager();
    await withUpstreamPair({ "a-long.txt": LONG, "b-short.txt": FIVE }, async ({ db, r, pushSession }) => {
      writeFileSync(`${r}/a-long.txt`, LONG.replace(/^line (\d+)$/gm, "LINE $1 on R"));
      writeFileSync(`${r}/b-short.txt`, FIVE.replace("line5", "line5 R"));
      const id = await pushSession();
      const viewLong: PtyStep[] = [{ expect: freshPrompt("a-long.txt"), send: "v\r" }];
      const env = { ZYNC_TOKEN: "", NO_COLOR: "1", PAGER: pager.command };

      // stdin stays the terminal (the prompt needs it); stdout is a pipe to cat. 'q' leaves both pending.
      const piped = await runInPty(["/bin/bash", "-c", 'set -o pipefail; "$@" | cat', "bash", process.execPath, BIN.apply, "--db", db, "apply", String(id)], [...viewLong, { expect: freshPrompt("a-long.txt"), send: "q\r" }], { env });
      expect(piped.code).toBe(0);
      expect(pager.ran()).toBe(false);
      expect(piped.output).toContain("+LINE 60 on R");
      expect(await outcomes(db, id)).toEqual({ "a-long.txt": "pending", "b-short.txt": "pending" });

      const run = await applyInPty(
        db,
        id,
        [
          ...viewLong,
          { expect: freshPrompt("a-long.txt"), send: "s\r" },
          { expect: freshPrompt("b-short.txt"), send: "v\r" },
          { expect: freshPrompt("b-short.txt"), send: "s\r" },
        ],
        { PAGER: pager.command },
      );
      expect(run.code).toBe(0);
      const paged = pager.input();
      expect(paged.match(/^LESS=/gm)).toEqual(["LESS="]);
      expect(paged).toMatch(/^LESS=FRX\n/);
      expect(paged).toContain("+LINE 60 on R");
      expect(paged).not.toContain("line5 R");
      expect(run.output).not.toContain("+LINE 60 on R");
      // The short one: once in the preview, once in the full view.
      expect(run.output.split("\n").filter((l) => l.trimEnd() === "+line5 R")).toHaveLength(2);
      expect(await outcomes(db, id)).toEqual({ "a-long.txt": "skipped", "b-short.txt": "skipped" });
    });
  });
});

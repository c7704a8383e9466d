import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, runClientOnce, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { runInPty } from "../helpers/pty.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

/** A name from E that would turn the terminal red if it were printed raw. */
const HOSTILE = "\x1b[31mred\x1b[0m.txt";
/** Enough files that the pull is "large" and draws its bar however fast it goes. */
const FILES = 120;

let e: string;
let daemon: TestDaemon;

beforeAll(async () => {
  e = tempDir("zync-e-");
  mkdirSync(join(e, "data"));
  for (let i = 0; i < FILES; i++) writeFileSync(join(e, "data", `f${String(i).padStart(3, "0")}.bin`), Buffer.alloc(32 * 1024, i));
  writeFileSync(join(e, HOSTILE), "hostile name\n");
  daemon = await startTestDaemon([`code:${e}`]);
});
afterAll(async () => {
  await daemon.stop();
  removeTempDirs();
});

function clientArgs(db: string, r: string, extra: readonly string[]): string[] {
  return [process.execPath, BIN.client, ...extra, "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", db, "--dirs", `code:${r}`];
}

describe("progress of a long transfer", () => {
  test("on a terminal a pull draws a bar with files, bytes, rate and ETA, and E's path names are printed escaped", async () => {
    const r = tempDir("zync-r-");
    const db = join(tempDir("zync-client-"), "client.db");
    const res = await runInPty(clientArgs(db, r, ["--once", "--verbose"]), [], { env: { NO_COLOR: "1", ZYNC_TOKEN: "" } });
    expect(res.code).toBe(0);
    // The bar's final state: every file, every byte, and what the bar is drawn with.
    const bar = /pulling █+ 100% \| (\d+)\/(\d+) files \| ([\d.]+ [KM]iB) of ([\d.]+ [KM]iB) \| [\d.]+ \S+\/s \| ETA 0s\n/.exec(res.output);
    expect(bar).not.toBeNull();
    expect(bar![1]).toBe(bar![2]);
    expect(bar![3]).toBe(bar![4]);
    expect(Number(bar![1])).toBeGreaterThan(FILES);
    expect(res.output).toContain(`synced: ${bar![1]} written, ${bar![3]} received`);
    expect(res.raw).not.toContain("\x1b[31m");
    expect(res.output).toContain("\\x1b[31mred\\x1b[0m.txt");
    // A --verbose line printed while the bar is up clears the bar's line first, and the bar never jumps the
    // cursor back to where it started (which would overwrite the lines printed since).
    expect(res.raw).not.toMatch(/ETA [^\r\n]*?wrote /);
    expect(res.raw).not.toContain("\x1b8");
  });

  test("with --no-progress a pull on a terminal draws no bar and still prints its summary", async () => {
    const r = tempDir("zync-r-");
    const db = join(tempDir("zync-client-"), "client.db");
    const res = await runInPty(clientArgs(db, r, ["--once", "--no-progress"]), [], { env: { NO_COLOR: "1", ZYNC_TOKEN: "" } });
    expect(res.code).toBe(0);
    expect(res.output).toMatch(/synced: \d+ written/);
    expect(res.output).not.toContain("pulling");
    expect(res.raw).not.toContain("█");
  });

  test("without a terminal a pull prints plain lines only: no bar, no escape codes, no carriage returns", async () => {
    const r = tempDir("zync-r-");
    const db = join(tempDir("zync-client-"), "client.db");
    const res = await runClientOnce(daemon, db, [`code:${r}`], ["--verbose"]);
    expect(res.code).toBe(0);
    const all = res.stdout + res.stderr;
    expect(all).toMatch(/synced: \d+ written, [\d.]+ MiB received/);
    expect(all).not.toMatch(/[\x1b\r█]/);
    expect(all).toContain("\\x1b[31mred\\x1b[0m.txt");
  });

  test("on a terminal a push draws its bar too, and the staged-session line comes after it", async () => {
    const r = tempDir("zync-r-");
    const db = join(tempDir("zync-client-"), "client.db");
    expect((await runClientOnce(daemon, db, [`code:${r}`])).code).toBe(0);
    for (let i = 0; i < FILES; i++) writeFileSync(join(r, "data", `f${String(i).padStart(3, "0")}.bin`), Buffer.alloc(16 * 1024, 255 - i));
    const res = await runInPty(clientArgs(db, r, ["--update-upstream"]), [], { env: { NO_COLOR: "1", ZYNC_TOKEN: "" } });
    expect(res.code).toBe(0);
    expect(res.output).toMatch(new RegExp(`pushing █+ 100% \\| ${FILES}/${FILES} files \\| 1\\.9 MiB of 1\\.9 MiB \\| .* \\| ETA 0s\\n.*code: staged session \\d+ on E: ${FILES} change`));
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { spawn } from "node:child_process";
import { BIN, runBin, startTestDaemon, writeToken } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

/** Asserts the shape every refused command line must have: one line on stderr, no stack, nothing on stdout. */
function expectOneSentence(res: { code: number | string; stdout: string; stderr: string }, bin: string, code: number, mentions: RegExp): void {
  expect({ code: res.code, stdout: res.stdout }).toEqual({ code, stdout: "" });
  expect(res.stderr).not.toContain("    at ");
  expect(res.stderr.trim().split("\n")).toHaveLength(1);
  expect(res.stderr).toMatch(new RegExp(`^${bin}: \\S`));
  expect(res.stderr).toMatch(mentions);
}

/** A port on loopback where nothing listens (bound once to find it, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof addr !== "object" || addr === null) throw new Error("no port");
  return addr.port;
}

describe("zync-daemon refuses bad command lines with one sentence", () => {
  const dbArgs = (): string[] => ["--db", `${tempDir()}/d.db`];

  test.each([
    { why: "an unknown flag", args: (root: string) => ["--bogus-flag", "--dirs", `code:${root}`], mentions: /bogus-flag/ },
    { why: "a --dirs entry without a colon", args: (root: string) => ["--dirs", root], mentions: /--dirs/ },
    { why: "a root that does not exist", args: (root: string) => ["--dirs", `code:${root}/does-not-exist`], mentions: /does-not-exist/ },
    { why: "--port 70000", args: (root: string) => ["--port", "70000", "--dirs", `code:${root}`], mentions: /--port/ },
    { why: "--port -1", args: (root: string) => ["--port", "-1", "--dirs", `code:${root}`], mentions: /--port/ },
    { why: "no --dirs", args: () => [], mentions: /dirs/ },
    { why: "--git-wait -1", args: (root: string) => ["--git-wait", "-1", "--dirs", `code:${root}`], mentions: /--git-wait/ },
    { why: "--versions-days -1", args: (root: string) => ["--versions-days", "-1", "--dirs", `code:${root}`], mentions: /--versions-days/ },
    { why: "--compress sometimes (a value not among the choices)", args: (root: string) => ["--compress", "sometimes", "--dirs", `code:${root}`], mentions: /compress.*Given: "sometimes"/ },
  ])("$why: exit 2", async ({ args, mentions }) => {
    const root = tempDir("zync-e-");
    const db = dbArgs();
    const res = await runBin(BIN.daemon, ["--port", "0", ...db, ...args(root)]);
    expectOneSentence(res, "zync-daemon", 2, mentions);
    // A refused command line leaves nothing behind: no database, no token.
    expect(existsSync(db[1]!)).toBe(false);
    expect(existsSync(`${db[1]!}.token`)).toBe(false);
  });

  test("--help exits 0 and shows an example", async () => {
    const res = await runBin(BIN.daemon, ["--help"]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
    expect(res.stdout).toMatch(/Examples:/);
    expect(res.stdout).toMatch(/zync-daemon --dirs \S+:\S+/);
  });
});

describe("zync-client refuses bad command lines with one sentence", () => {
  const base = (): string[] => {
    const dir = tempDir("zync-client-");
    mkdirSync(`${dir}/r`); // an existing root, so a run has nothing to report before it fails
    return ["--once", "--db", `${dir}/c.db`, "--token-file", writeToken(`${dir}/token`, "some-token"), "--dirs", `code:${dir}/r`];
  };

  test.each([
    { why: "an unknown flag", args: ["--bogus-flag"], mentions: /bogus-flag/ },
    { why: "--server http://x", args: ["--server", "http://x"], mentions: /--server/ },
    { why: "--server 'not a url'", args: ["--server", "not a url"], mentions: /not a url/ },
    { why: "--server unix: without a path", args: ["--server", "unix:"], mentions: /unix: needs the path of the socket/ },
    { why: "--server unix: with a colon in the path", args: ["--server", "unix:/tmp/a:b.sock"], mentions: /cannot contain ':'/ },
    { why: "--server unix: with a path too long for a socket", args: ["--server", `unix:/tmp/${"s".repeat(120)}.sock`], mentions: /longer than the 107 bytes/ },
    { why: "--interval -1", args: ["--interval", "-1"], mentions: /--interval/ },
    { why: "--interval 0", args: ["--interval", "0"], mentions: /--interval/ },
    { why: "--port 70000 (not a client flag)", args: ["--port", "70000"], mentions: /port/ },
  ])("$why: exit 2", async ({ args, mentions }) => {
    const res = await runBin(BIN.client, [...base(), ...args]);
    expectOneSentence(res, "zync-client", 2, mentions);
  });

  test("a --dirs entry without a colon: exit 2", async () => {
    const dir = tempDir("zync-client-");
    const res = await runBin(BIN.client, ["--once", "--db", `${dir}/c.db`, "--token-file", writeToken(`${dir}/token`, "t"), "--dirs", `${dir}/r`]);
    expectOneSentence(res, "zync-client", 2, /--dirs/);
    expect(existsSync(`${dir}/c.db`)).toBe(false);
  });

  test("--once against a port where nothing listens: exit 4, 'cannot reach'", async () => {
    const port = await freePort();
    const res = await runBin(BIN.client, [...base(), "--server", `ws://127.0.0.1:${port}`]);
    expectOneSentence(res, "zync-client", 4, /cannot reach/);
    expect(res.stderr).toContain(String(port));
  });

  test("--help exits 0 and shows an example", async () => {
    const res = await runBin(BIN.client, ["--help"]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
    expect(res.stdout).toMatch(/Examples:/);
    expect(res.stdout).toMatch(/zync-client --\S+.*--dirs \S+:\S+/);
  });
});

describe("a reader that goes away early", () => {
  test("zync-daemon status piped into a command that exits at once ends quietly, without a stack trace", async () => {
    const root = tempDir("zync-e-");
    const daemon = await startTestDaemon([`code:${root}`]);
    try {
      const res = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const sh = spawn("sh", ["-c", `{ "$0" "$1" status --db "$2"; echo "writer exit $?" >&2; } | true`, process.execPath, BIN.daemon, daemon.db], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        sh.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        sh.on("close", (status) => resolve({ status, stderr }));
      });
      expect(res.stderr).not.toContain("EPIPE");
      expect(res.stderr).not.toContain("    at ");
      expect(res.stderr).toBe("writer exit 0\n");
    } finally {
      await daemon.stop();
    }
  });
});

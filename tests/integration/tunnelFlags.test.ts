import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync } from "node:fs";
import { BIN, runBin } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

describe("zync-daemon refuses bad tunnel flags with one sentence and exit 2", () => {
  test.each([
    { why: "a --tunnel with two ports", args: ["--tunnel", "alice@gpu-box:22:33"], mentions: /--tunnel "alice@gpu-box:22:33" is not of the form \[user@\]host\[:sshport\]/ },
    { why: "a --tunnel with an empty host", args: ["--tunnel", "alice@"], mentions: /--tunnel "alice@" .*host is empty/ },
    { why: "a --tunnel that looks like an ssh option", args: ["--tunnel=-oProxyCommand=x"], mentions: /--tunnel "-oProxyCommand=x"/ },
    { why: "a --tunnel ssh port out of range", args: ["--tunnel", "gpu-box:70000"], mentions: /1 to 65535/ },
    { why: "--remote-port 0", args: ["--tunnel", "gpu-box", "--remote-port", "0"], mentions: /--remote-port must be a whole number from 1 to 65535/ },
    { why: "--remote-port abc", args: ["--tunnel", "gpu-box", "--remote-port", "abc"], mentions: /--remote-port/ },
    { why: "--remote-port without --tunnel", args: ["--remote-port", "8001"], mentions: /--remote-port only applies together with --tunnel/ },
    { why: "a malformed --ssh-option", args: ["--tunnel", "gpu-box", "--ssh-option", "NoValue"], mentions: /--ssh-option "NoValue" is not an ssh option/ },
    { why: "a missing --ssh-identity", args: ["--tunnel", "gpu-box", "--ssh-identity", "/no/such/key"], mentions: /--ssh-identity \/no\/such\/key is not a readable file/ },
  ])("$why", async ({ args, mentions }) => {
    const root = tempDir("zync-e-");
    const db = `${tempDir()}/d.db`;
    const res = await runBin(BIN.daemon, ["--port", "0", "--db", db, "--dirs", `code:${root}`, ...args]);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 2, stdout: "" });
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).not.toContain("    at ");
    expect(res.stderr).toMatch(/^zync-daemon: \S/);
    expect(res.stderr).toMatch(mentions);
    // Refused before anything started: no database, no token.
    expect(existsSync(db)).toBe(false);
    expect(existsSync(`${db}.token`)).toBe(false);
  });

  test("no ssh on PATH", async () => {
    const root = tempDir("zync-e-");
    const db = `${tempDir()}/d.db`;
    const res = await runBin(BIN.daemon, ["--port", "0", "--db", db, "--dirs", `code:${root}`, "--tunnel", "gpu-box"], { PATH: tempDir("zync-no-ssh-") });
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 2, stdout: "" });
    expect(res.stderr).toBe("zync-daemon: --tunnel needs the OpenSSH client, but no 'ssh' program was found on PATH\n");
    expect(existsSync(db)).toBe(false);
  });

  test("--help lists the tunnel flags with an example", async () => {
    const res = await runBin(BIN.daemon, ["--help"]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
    for (const flag of ["--tunnel", "--remote-port", "--ssh-option", "--ssh-identity"]) expect(res.stdout).toContain(flag);
    expect(res.stdout).toMatch(/Examples:[^]*--tunnel user@gpu-box/);
  });
});

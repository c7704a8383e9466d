import { afterAll, describe, expect, test } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BIN, spawnBin } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** Runs a bin in `cwd` with HOME set to `home`, to the end. */
async function runIn(bin: string, args: readonly string[], cwd: string, home: string) {
  const s = spawnBin(bin, args, { HOME: home, XDG_CONFIG_HOME: "" }, cwd);
  const code = await s.exited;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

/** The ExecStart= line of a unit, split into words the way systemd reads them (quotes, \\ escapes, %% and $$). */
function execStartWords(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (line === undefined) throw new Error(`no ExecStart in:\n${unit}`);
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    let word = "";
    if (line[i] === '"') {
      i++;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unbalanced quotes in ${line}`);
        if (line[i] === "\\") i++;
        word += line[i++];
      }
      i++;
    } else {
      while (i < line.length && line[i] !== " ") word += line[i++];
    }
    words.push(word.replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return words;
}

/** `systemd-analyze verify` on the unit, where systemd's tools are installed; undefined when they are not. */
function systemdVerify(path: string): string | undefined {
  const r = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
  if (r.error !== undefined) return undefined;
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}

describe("zync-client service install", () => {
  test("writes the unit into ~/.config/systemd/user with the client's flags and absolute paths, and prints how to start it", async () => {
    const home = tempDir("zync-home-");
    const cwd = tempDir("zync-cwd-");
    mkdirSync(join(cwd, "my code"));
    const r = await runIn(BIN.client, ["service", "install", "--token-file", "token", "--dirs", "code:my code", "cfg:100%$x", "--interval", "5", "--ignore", "*.log"], cwd, home);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const path = join(home, ".config/systemd/user/zync-client.service");
    expect(r.stdout).toContain(`wrote ${path}`);
    expect(r.stdout).toContain("systemctl --user daemon-reload && systemctl --user enable --now zync-client");
    const unit = readFileSync(path, "utf8");
    expect(r.stdout).toContain(/^ExecStart=.*$/m.exec(unit)![0]);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^WantedBy=default.target$/m);
    expect(execStartWords(unit)).toEqual([
      process.execPath,
      BIN.client,
      "--token-file",
      join(cwd, "token"),
      "--dirs",
      `code:${join(cwd, "my code")}`,
      `cfg:${join(cwd, "100%$x")}`,
      "--interval",
      "5",
      "--ignore",
      "*.log",
      "--db",
      join(cwd, "sync_client.db"),
    ]);
    expect(unit).toContain(`"code:${join(cwd, "my code")}" "cfg:${join(cwd, "100%%$$x")}"`);
    const verified = systemdVerify(path);
    if (verified !== undefined) expect(verified).toBe("");
  });

  test("a one-shot flag, a misspelt flag, or no roots, is refused with a sentence and writes nothing", async () => {
    const home = tempDir("zync-home-");
    const cwd = tempDir("zync-cwd-");
    const once = await runIn(BIN.client, ["service", "install", "--once", "--dirs", "code:."], cwd, home);
    expect(once.code).toBe(2);
    expect(once.stderr).toBe("zync-client: --once is for a one-shot run; a service runs the live zync-client\n");
    const typo = await runIn(BIN.client, ["service", "install", "--dirs", "code:.", "--intreval", "5"], cwd, home);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("zync-client: --intreval is not a flag of zync-client (see zync-client --help)\n");
    const none = await runIn(BIN.client, ["service", "install", "--token-file", "t"], cwd, home);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^zync-client: give the service its roots with --dirs/);
    expect(existsSync(join(home, ".config/systemd/user/zync-client.service"))).toBe(false);
  });

  test("service uninstall removes the unit and the link systemctl enable made, and is fine when there is none", async () => {
    const home = tempDir("zync-home-");
    const cwd = tempDir("zync-cwd-");
    const units = join(cwd, "units");
    expect((await runIn(BIN.client, ["service", "install", "--unit-dir", units, "--dirs", "code:."], cwd, home)).code).toBe(0);
    mkdirSync(join(units, "default.target.wants"));
    symlinkSync(join(units, "zync-client.service"), join(units, "default.target.wants/zync-client.service"));
    const r = await runIn(BIN.client, ["service", "uninstall", "--unit-dir", units], cwd, home);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${join(units, "zync-client.service")} and its default.target.wants link`);
    expect(existsSync(join(units, "zync-client.service"))).toBe(false);
    expect(existsSync(join(units, "default.target.wants/zync-client.service"))).toBe(false);
    const again = await runIn(BIN.client, ["service", "uninstall", "--unit-dir", units], cwd, home);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to remove");
  });
});

describe("zync-daemon service install", () => {
  test("the unit's ExecStart, run from another folder, starts the daemon on the roots it was given", async () => {
    const home = tempDir("zync-home-");
    const cwd = tempDir("zync-cwd-");
    mkdirSync(join(cwd, "src dir"));
    const units = join(cwd, "units");
    const r = await runIn(BIN.daemon, ["service", "install", "--unit-dir", units, "--port", "0", "--dirs", "src:src dir", "--db", "state/sync.db"], cwd, home);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const unit = readFileSync(join(units, "zync-daemon.service"), "utf8");
    const [node, bin, ...args] = execStartWords(unit);
    expect([node, bin]).toEqual([process.execPath, BIN.daemon]);
    expect(args).toEqual(["--port", "0", "--dirs", `src:${join(cwd, "src dir")}`, "--db", join(cwd, "state/sync.db")]);
    const verified = systemdVerify(join(units, "zync-daemon.service"));
    if (verified !== undefined) expect(verified).toBe("");
    mkdirSync(join(cwd, "state"));
    execFileSync("touch", [join(cwd, "src dir", "a.txt")]);
    const elsewhere = tempDir("zync-elsewhere-");
    const daemon = spawnBin(bin!, args, { HOME: home }, elsewhere);
    try {
      await waitFor(() => /listening on ws:\/\//.test(daemon.stdout()), "the daemon started from the unit's ExecStart", 20_000);
      expect(existsSync(join(cwd, "state/sync.db"))).toBe(true);
    } finally {
      daemon.proc.kill("SIGTERM");
      await daemon.exited;
    }
  });
});

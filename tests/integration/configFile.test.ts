import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { BIN } from "../helpers/bins.js";
import {
  clientStatusJson,
  expectOneSentence,
  jsonOf,
  runBinIn,
  startDaemonIn,
  writeTree,
  type ClientRunJson,
  type ClientStatusJson,
  type DaemonIn,
  type DaemonStatusJson,
  type ServedJson,
} from "../helpers/operatorCli.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

const FILES = { "a.txt": "alpha\n", "docs/b.md": "# bravo\n" };

function writeConfig(path: string, config: unknown): void {
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** A working folder holding E's root `e` with FILES. */
function workDir(): string {
  const cwd = tempDir("zync-cwd-");
  writeTree(`${cwd}/e`, FILES);
  return cwd;
}

/** Runs `body` with a daemon started in `cwd` with `args` (its other flags come from the config file there). */
async function withDaemonIn(cwd: string, args: readonly string[], body: (d: DaemonIn) => Promise<void>): Promise<void> {
  const daemon = await startDaemonIn(cwd, args);
  try {
    await body(daemon);
  } finally {
    await daemon.stop();
  }
}

describe("zync.config.json in the working folder", () => {
  test("supplies both commands' flags; a client or daemon section wins over the top level; subcommands ignore flags they do not take", async () => {
    const cwd = workDir();
    // The top level is shared (the token file) or overridden by both sections (the database).
    const config: Record<string, unknown> = {
      "token-file": "shared.token",
      db: "top-level.db",
      daemon: { dirs: ["code:e"], db: "daemon.db", port: 0, "rescan-interval": 5 },
    };
    writeConfig(`${cwd}/zync.config.json`, config);
    await withDaemonIn(cwd, [], async (daemon) => {
      expect(existsSync(`${cwd}/daemon.db`)).toBe(true);
      expect(existsSync(`${cwd}/shared.token`)).toBe(true);

      config.client = { dirs: ["code:r"], db: "client.db", server: daemon.url, once: true, interval: 5 };
      writeConfig(`${cwd}/zync.config.json`, config);
      const run = await runBinIn(cwd, BIN.client, []);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(`${cwd}/r`)).toEqual(snapshotTree(`${cwd}/e`));
      expect(existsSync(`${cwd}/client.db`)).toBe(true);
      expect(readdirSync(cwd).filter((f) => f.startsWith("top-level"))).toEqual([]);

      // Subcommands take what they need from the same file and leave the rest (dirs, port, once, interval...).
      const ds = jsonOf<DaemonStatusJson>(await runBinIn(cwd, BIN.daemon, ["status", "--json"]), "zync-daemon status");
      expect(ds.db).toBe(`${cwd}/daemon.db`);
      expect(ds.runningPid).toBe(daemon.proc.pid);
      expect(ds.roots).toEqual([expect.objectContaining({ name: "code", path: `${cwd}/e`, files: 2 })]);
      const dl = jsonOf<ServedJson[]>(await runBinIn(cwd, BIN.daemon, ["log", "--json"]), "zync-daemon log");
      expect(dl.length).toBeGreaterThanOrEqual(1);
      const cl = jsonOf<ClientRunJson[]>(await runBinIn(cwd, BIN.client, ["log", "--json"]), "zync-client log");
      expect(cl).toHaveLength(1);
      expect(cl[0]).toMatchObject({ kind: "pull", files: 3 });
      const cs = jsonOf<ClientStatusJson>(await runBinIn(cwd, BIN.client, ["status", "--json"]), "zync-client status");
      expect(cs.daemon).toMatchObject({ url: daemon.url, reachable: true });
      expect(cs.roots).toEqual([expect.objectContaining({ name: "code", path: `${cwd}/r`, behind: 0 })]);
      for (const [bin, args] of [
        [BIN.daemon, ["status"]],
        [BIN.daemon, ["log"]],
        [BIN.client, ["status"]],
        [BIN.client, ["log"]],
      ] as const) {
        const human = await runBinIn(cwd, bin, args);
        expect({ args, code: human.code, stderr: human.stderr }).toEqual({ args, code: 0, stderr: "" });
        expect(human.stdout).not.toBe("");
      }
    });
  });

  test("a flag on the command line wins over the file", async () => {
    const cwd = workDir();
    writeTree(`${cwd}/e2`, { "only-in-e2.txt": "e2\n" });
    writeConfig(`${cwd}/zync.config.json`, {
      "token-file": "shared.token",
      daemon: { dirs: ["code:e"], db: "file-daemon.db", port: 0 },
      client: { dirs: ["code:r"], db: "file-client.db" },
    });
    await withDaemonIn(cwd, ["--db", "flag-daemon.db", "--dirs", "code:e2"], async (daemon) => {
      expect(existsSync(`${cwd}/flag-daemon.db`)).toBe(true);
      expect(existsSync(`${cwd}/file-daemon.db`)).toBe(false);

      const run = await runBinIn(cwd, BIN.client, ["--once", "--server", daemon.url, "--db", "flag-client.db", "--dirs", "code:r2"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(`${cwd}/r2`)).toEqual(snapshotTree(`${cwd}/e2`));
      expect(existsSync(`${cwd}/r`)).toBe(false);
      expect(existsSync(`${cwd}/flag-client.db`)).toBe(true);
      expect(existsSync(`${cwd}/file-client.db`)).toBe(false);

      // A subcommand's flag wins too.
      const ds = jsonOf<DaemonStatusJson>(await runBinIn(cwd, BIN.daemon, ["status", "--json", "--db", "flag-daemon.db"]), "zync-daemon status");
      expect(ds.roots).toEqual([expect.objectContaining({ name: "code", path: `${cwd}/e2` })]);
    });
  });

  test("--config PATH reads another file instead of ./zync.config.json", async () => {
    const cwd = workDir();
    const elsewhere = tempDir("zync-config-");
    writeConfig(`${cwd}/zync.config.json`, { db: "default-file.db", daemon: { dirs: ["code:e"], port: 0 } });
    writeConfig(`${elsewhere}/custom.json`, { db: `${elsewhere}/custom.db`, daemon: { dirs: [`code:${cwd}/e`], port: 0 } });
    await withDaemonIn(cwd, ["--config", `${elsewhere}/custom.json`], async (daemon) => {
      expect(existsSync(`${elsewhere}/custom.db`)).toBe(true);
      expect(existsSync(`${cwd}/default-file.db`)).toBe(false);

      writeConfig(`${elsewhere}/client.json`, {
        client: { dirs: [`code:${cwd}/r`], db: `${elsewhere}/client.db`, server: daemon.url, "token-file": `${elsewhere}/custom.db.token` },
      });
      // Both spellings: --config PATH and --config=PATH.
      const run = await runBinIn(cwd, BIN.client, ["--once", `--config=${elsewhere}/client.json`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(`${cwd}/r`)).toEqual(snapshotTree(`${cwd}/e`));
      expect(existsSync(`${elsewhere}/client.db`)).toBe(true);

      const ds = jsonOf<DaemonStatusJson>(await runBinIn(cwd, BIN.daemon, ["status", "--json", "--config", `${elsewhere}/custom.json`]), "zync-daemon status");
      expect(ds.db).toBe(`${elsewhere}/custom.db`);
      const cs = jsonOf<ClientStatusJson>(await runBinIn(cwd, BIN.client, ["status", "--json", "--config", `${elsewhere}/client.json`]), "zync-client status");
      expect(cs.daemon.reachable).toBe(true);
    });
  });

  // Global flags may come before the subcommand, as yargs allows; the config file's serve-only or pull-only flags
  // must still be left out for status and log then.
  const beforeSubcommand = {
    "token-file": "shared.token",
    daemon: { dirs: ["code:e"], db: "daemon.db", port: 0 },
    client: { dirs: ["code:r"], db: "client.db", once: true },
  };

  test("zync-daemon status and log work when a flag comes before the subcommand", async () => {
    const cwd = workDir();
    writeConfig(`${cwd}/zync.config.json`, beforeSubcommand);
    await withDaemonIn(cwd, [], async () => {
      const status = jsonOf<DaemonStatusJson>(await runBinIn(cwd, BIN.daemon, ["--db", "daemon.db", "status", "--json"]), "zync-daemon --db daemon.db status");
      expect(status.db).toBe(`${cwd}/daemon.db`);
      jsonOf<ServedJson[]>(await runBinIn(cwd, BIN.daemon, ["--config", "zync.config.json", "log", "--json"]), "zync-daemon --config zync.config.json log");
    });
  });

  test("zync-client status and log work when a flag comes before the subcommand", async () => {
    const cwd = workDir();
    writeConfig(`${cwd}/zync.config.json`, beforeSubcommand);
    await withDaemonIn(cwd, [], async (daemon) => {
      const run = await runBinIn(cwd, BIN.client, ["--server", daemon.url]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(jsonOf<ClientRunJson[]>(await runBinIn(cwd, BIN.client, ["--db", "client.db", "log", "--json"]), "zync-client --db client.db log")).toHaveLength(1);
      const status = jsonOf<ClientStatusJson>(await runBinIn(cwd, BIN.client, ["--server", daemon.url, "status", "--json"]), "zync-client --server URL status");
      expect(status.daemon.reachable).toBe(true);
    });
  });
});

describe("a config file that cannot be used is refused with one sentence (exit 2)", () => {
  const cases = [
    { why: "malformed JSON", content: "{ \"db\": \"x.db\", ", mentions: /config file/ },
    { why: "an array instead of an object", content: "[1, 2]", mentions: /JSON object/ },
    { why: "a client section that is not an object", content: JSON.stringify({ client: "nope", daemon: "nope" }), mentions: /must be an object/ },
  ];

  test.each(cases)("$why in ./zync.config.json", async ({ content, mentions }) => {
    const cwd = workDir();
    writeFileSync(`${cwd}/zync.config.json`, content);
    for (const [bin, name, args] of [
      [BIN.daemon, "zync-daemon", ["--port", "0", "--db", "d.db", "--dirs", "code:e"]],
      [BIN.client, "zync-client", ["--once", "--server", "ws://127.0.0.1:9", "--token-file", "t", "--db", "c.db", "--dirs", "code:r"]],
      [BIN.daemon, "zync-daemon", ["status", "--db", "d.db"]],
      [BIN.client, "zync-client", ["log", "--db", "c.db"]],
    ] as const) {
      expectOneSentence(await runBinIn(cwd, bin, args), name, 2, mentions);
    }
    // Nothing was started or created.
    expect(readdirSync(cwd).sort()).toEqual(["e", "zync.config.json"]);
  });

  test("a --config path that does not exist", async () => {
    const cwd = workDir();
    for (const [bin, name, args] of [
      [BIN.daemon, "zync-daemon", ["--config", "missing.json", "--port", "0", "--db", "d.db", "--dirs", "code:e"]],
      [BIN.client, "zync-client", ["--config", "missing.json", "--once", "--server", "ws://127.0.0.1:9", "--token-file", "t", "--db", "c.db", "--dirs", "code:r"]],
      [BIN.client, "zync-client", ["status", "--config=missing.json", "--db", "c.db"]],
    ] as const) {
      expectOneSentence(await runBinIn(cwd, bin, args), name, 2, /missing\.json.*does not exist/);
    }
    expect(readdirSync(cwd)).toEqual(["e"]);
  });

  test("a config file naming an unknown flag is refused like an unknown flag", async () => {
    const cwd = workDir();
    writeConfig(`${cwd}/zync.config.json`, { client: { "no-such-flag": true } });
    const run = await runBinIn(cwd, BIN.client, ["--once", "--server", "ws://127.0.0.1:9", "--token-file", "t", "--db", "c.db", "--dirs", "code:r"]);
    expectOneSentence(run, "zync-client", 2, /no-such-flag/);
    expect(existsSync(`${cwd}/c.db`)).toBe(false);
  });
});

describe("the status that a config-driven client reports", () => {
  test("matches what the same client reports with explicit flags", async () => {
    const cwd = workDir();
    writeConfig(`${cwd}/zync.config.json`, { "token-file": "shared.token", daemon: { dirs: ["code:e"], db: "daemon.db", port: 0 }, client: { dirs: ["code:r"], db: "client.db" } });
    mkdirSync(`${cwd}/r`);
    await withDaemonIn(cwd, [], async (daemon) => {
      const run = await runBinIn(cwd, BIN.client, ["--once", "--server", daemon.url]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      const viaFile = jsonOf<ClientStatusJson>(await runBinIn(cwd, BIN.client, ["status", "--json", "--server", daemon.url]), "zync-client status");
      const viaFlags = await clientStatusJson(`${cwd}/client.db`, { server: daemon.url, tokenFile: `${cwd}/shared.token` });
      expect(viaFile).toEqual(viaFlags);
    });
  });
});

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { COMPRESS_MODES, DEFAULT_COMPRESS_MODE, wirePathProblem } from "@zync/protocol";
import { boundMemory, completeWithoutDefaultCommand, configPathFromArgs, runServiceAction, loadConfig, parseDirs, runCli, terminalJson, TOKEN_ENV, UsageError, withZyncDefaults } from "@zync/node";
import { checkServerUrl, dbPathOf, loggerFor, readToken } from "./commands/clientOptions.js";
import { clientRuns, printRuns } from "./commands/logCommand.js";
import { clientStatus, printStatus } from "./commands/statusCommand.js";
import { checkIgnoreOnClient, printClientIgnoreChecks } from "./commands/checkIgnoreCommand.js";
import { ClientStore } from "./store/clientStore.js";
import { runSync } from "./commands/syncCommand.js";
import { CLIENT_SERVICE } from "./commands/clientService.js";
import { parseHookRule, type HookRule } from "./hooks/hookRule.js";

const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** The config-file settings each subcommand takes (the default command takes them all). */
const SUBCOMMAND_KEYS = {
  wait: ["db", "server", "token-file", "dirs", "ignore", "timeout"],
  status: ["db", "server", "token-file", "dirs", "ignore"],
  log: ["db"],
  "check-ignore": ["db", "server", "token-file", "dirs", "ignore"],
} as const;

/** Options every command shares. */
function common<T>(y: Argv<T>) {
  return y
    .option("server", {
      type: "string",
      describe: "the daemon's address through the SSH tunnel: unix:PATH or ws://HOST:PORT (default: unix:~/.zync/zync.sock if that socket exists, else ws://localhost:8000)",
    })
    .option("db", { type: "string", default: "sync_client.db", describe: "this client's state (cursors, bases, conflicts, history)" })
    .option("token-file", { type: "string", describe: `file holding the daemon's token (${TOKEN_ENV} wins)` })
    .option("ignore", { type: "string", array: true, default: [] as string[], describe: "extra gitignore-style pattern to leave alone here (repeatable)" })
    .option("config", { type: "string", describe: "JSON file of flag values (default: ./zync.config.json if present); flags win" })
    .option("json", { type: "boolean", default: false, describe: "print machine-readable JSON" })
    .option("verbose", { type: "boolean", default: false, describe: "print every path written or deleted" })
    .option("quiet", { type: "boolean", default: false, describe: "print only warnings, conflicts and errors" })
    .option("progress", { type: "boolean", default: true, describe: "show progress of long transfers (--no-progress hides it; --quiet and --json do too)" });
}

const number = (name: string, v: number, min: number): number => {
  if (!Number.isFinite(v) || v < min) throw new UsageError(`--${name} must be a number of at least ${min}`);
  return v;
};

async function main(): Promise<number | void> {
  const args = hideBin(process.argv);
  // Each command reads from the config file only the settings it takes.
  const configPath = configPathFromArgs(args);
  let result: Promise<number | void> = Promise.resolve();
  await withZyncDefaults(common(yargs(args)))
    .scriptName("zync-client")
    .usage("$0 [status|log|wait|check-ignore] --dirs NAME:PATH [NAME:PATH ...] [options]\n\nPulls changes from a zync daemon into local folders, never overwriting an edit made here.")
    .command(
      "$0",
      "pull changes from the daemon (live, every --interval, or --once), or push R's own with --update-upstream",
      (y) =>
        y
          .config(loadConfig("client", configPath))
          .option("dirs", { type: "string", array: true, demandOption: true, describe: "local roots, as name:/path; names match the daemon's" })
          .option("interval", { type: "number", default: 60, describe: "seconds between pulls when no change notice arrives" })
          .option("once", { type: "boolean", default: false, describe: "pull until caught up, then exit (for scripts)" })
          .option("full", { type: "boolean", default: false, describe: "a one-shot pull that first re-reads (hashes) every file R received and compares E's whole manifest; a file whose content differs is kept as R's edit" })
          .option("update-upstream", { type: "boolean", default: false, describe: "push what changed on R to E as a session to review with zync-apply, then exit" })
          .option("dry-run", { type: "boolean", default: false, describe: "with --once or --update-upstream: print what would happen, change nothing" })
          .option("paths", { type: "string", array: true, describe: "only these sub-paths of each root (the cursor does not move)" })
          .option("prefer-daemon", { type: "boolean", default: false, describe: "on a conflict take E's version and keep R's beside it as NAME.zync-conflict-TIME" })
          .option("merge", { type: "boolean", default: false, describe: "on a conflict of a text file whose edits on R and on E do not overlap, merge the two on R (the base fetched from E's version store); the merge goes upstream with --update-upstream" })
          .option("allow-mass-delete", { type: "boolean", default: false, describe: "let a pull delete more than --max-delete of a root's files" })
          .option("max-delete", { type: "number", default: 50, describe: "percent of a root's files one pull may delete without --allow-mass-delete" })
          .option("timeout", { type: "number", default: 120, describe: "with --once: seconds to wait for a running client of the same --db to catch up" })
          .option("compress", { choices: COMPRESS_MODES, default: DEFAULT_COMPRESS_MODE, describe: "compress what this side sends when the daemon can: auto on a link with a round trip of 10 ms or more, always, or never" })
          .option("on-change", {
            type: "string",
            array: true,
            default: [] as string[],
            describe: "PATTERN=COMMAND: after a pass that wrote or deleted paths matching the gitignore-style PATTERN, run COMMAND with /bin/sh in the root's folder (repeatable)",
          })
          .option("fsync", { type: "boolean", default: true, describe: "flush written files and folders to disk before recording them (--no-fsync: faster, but a power cut may lose what was recorded)" })
          .example([
            ["$0 --dirs docs:/home/user/synced/docs code:/home/user/synced/code", "keep two folders in step, live"],
            ["$0 --once --token-file ~/.zync-token --dirs code:~/code", "one catch-up pull for a script; exit code 3 on conflicts"],
            ["$0 --once --dry-run --dirs code:~/code", "show what a pull would add, change, delete or flag"],
            ["$0 --full --dirs code:~/code", "re-read every file on R and compare all of E's: files changed behind zync's back are kept as R's edits"],
            ["$0 --update-upstream --dirs code:~/code", "send R's own edits to E, staged for review with zync-apply"],
            ["$0 --dirs code:~/code --on-change 'package-lock.json=npm ci'", "run npm ci in the root after a pass that changed package-lock.json"],
          ]),
      (argv) => {
        if (argv.merge && argv["prefer-daemon"]) throw new UsageError("--merge and --prefer-daemon cannot be combined: one keeps both edits in R's file, the other puts R's aside; give one of them");
        if (argv["update-upstream"] && argv.once) throw new UsageError("--update-upstream and --once are separate runs; give one of them");
        if (argv.full && (argv["update-upstream"] || argv["dry-run"] || argv.paths !== undefined)) {
          throw new UsageError("--full re-reads and compares every file of every root; give it without --update-upstream, --dry-run or --paths");
        }
        const paths = argv.paths?.map((p) => p.replace(/\/+$/, ""));
        const onChange = hookRules(argv["on-change"]);
        result = runSync({
          url: checkServerUrl(argv.server),
          token: readToken(argv["token-file"]),
          dbPath: dbPathOf(argv.db),
          dirs: parseDirs(argv.dirs),
          ignore: argv.ignore,
          once: argv.once,
          updateUpstream: argv["update-upstream"],
          dryRun: argv["dry-run"],
          json: argv.json,
          intervalMs: number("interval", argv.interval, Number.MIN_VALUE) * 1000,
          preferDaemon: argv["prefer-daemon"],
          merge: argv.merge,
          fsync: argv.fsync,
          compress: argv.compress,
          policy: { paths: checkPaths(paths), allowMassDelete: argv["allow-mass-delete"], maxDeleteShare: percent("max-delete", argv["max-delete"]) / 100 },
          logger: loggerFor(argv),
          quiet: argv.quiet,
          progress: argv.progress,
          timeoutMs: number("timeout", argv.timeout, 1) * 1000,
          onChange,
          full: argv.full,
        });
      },
    )
    .command(
      "wait",
      "return once R has applied every change E had when asked, saves made on E just before included (pulls itself, or waits for the running client)",
      (y) =>
        y
          .config(loadConfig("client", configPath, SUBCOMMAND_KEYS.wait))
          .option("dirs", { type: "string", array: true, demandOption: true, describe: "local roots, as name:/path" })
          .option("timeout", { type: "number", default: 120, describe: "seconds before giving up (exit 7)" }),
      (argv) => {
        result = runSync({
          url: checkServerUrl(argv.server),
          token: readToken(argv["token-file"]),
          dbPath: dbPathOf(argv.db),
          dirs: parseDirs(withoutWord(argv.dirs, "wait") ?? []),
          ignore: argv.ignore,
          once: true,
          barrier: true,
          compress: DEFAULT_COMPRESS_MODE,
          updateUpstream: false,
          dryRun: false,
          json: argv.json,
          intervalMs: 60_000,
          preferDaemon: false,
          fsync: true,
          policy: { allowMassDelete: false, maxDeleteShare: 0.5 },
          logger: loggerFor(argv),
          quiet: argv.quiet,
          timeoutMs: number("timeout", argv.timeout, 1) * 1000,
        });
      },
    )
    .command(
      "status",
      "show cursors, the daemon's head, the last sync, conflicts and what waits to go upstream",
      (y) => y.config(loadConfig("client", configPath, SUBCOMMAND_KEYS.status)).option("dirs", { type: "string", array: true, describe: "local roots (default: those this client has synced)" }),
      (argv) => {
        const token = process.env[TOKEN_ENV]?.trim() || argv["token-file"] ? readToken(argv["token-file"]) : undefined;
        // `--dirs code:/x status` runs this command, but yargs also reads the word as one more --dirs entry.
        const dirs = withoutWord(argv.dirs, "status");
        result = clientStatus(dbPathOf(argv.db), checkServerUrl(argv.server), token, dirs?.length ? parseDirs(dirs) : undefined, withoutWord(argv.ignore, "status") ?? []).then((s) => {
          if (argv.json) out(terminalJson(s));
          else printStatus(s, out);
        });
      },
    )
    .command(
      "check-ignore <paths..>",
      "say for each path whether E serves it and which rule in which file decided it (asked of the daemon), and whether R would push it upstream, like git check-ignore -v",
      (y) =>
        y
          .config(loadConfig("client", configPath, SUBCOMMAND_KEYS["check-ignore"]))
          .positional("paths", { type: "string", array: true, demandOption: true, describe: "paths relative to this folder, or absolute, inside one of --dirs" })
          .option("dirs", { type: "string", array: true, describe: "local roots, as name:/path (default: those this client has synced)" })
          .example([["$0 check-ignore build/out.js src/ --dirs code:~/code", "is each path synced from E, and would R push it back?"]]),
      (argv) => {
        const dirs = withoutWord(argv.dirs, "check-ignore");
        const dbPath = dbPathOf(argv.db);
        result = checkIgnoreOnClient(argv.paths, {
          dbPath,
          url: checkServerUrl(argv.server),
          token: readToken(argv["token-file"]),
          dirs: dirs?.length ? parseDirs(dirs) : rememberedDirs(dbPath),
          ignore: withoutWord(argv.ignore, "check-ignore") ?? [],
          cwd: process.cwd(),
        }).then((checks) => {
          if (argv.json) out(terminalJson(checks));
          else printClientIgnoreChecks(checks, out);
        });
      },
    )
    .command(
      "log",
      "show the history of pulls and pushes",
      (y) => y.config(loadConfig("client", configPath, SUBCOMMAND_KEYS.log)).option("limit", { type: "number", default: 20, describe: "how many runs, newest first" }),
      (argv) => {
        if (!Number.isInteger(argv.limit) || argv.limit < 1) throw new UsageError("--limit must be a whole number of at least 1");
        const runs = clientRuns(dbPathOf(argv.db), argv.limit);
        if (argv.json) out(terminalJson(runs));
        else printRuns(runs, out);
      },
    )
    .command(
      "service <action>",
      "install: write the systemd user unit that runs zync-client with the flags given after it; uninstall: remove it",
      (y) =>
        y
          .positional("action", { type: "string", choices: ["install", "uninstall"], demandOption: true })
          .option("unit-dir", { type: "string", describe: "folder for the unit (default: ~/.config/systemd/user)" })
          .strict(false),
      (argv) => {
        const warn = (line: string): void => void process.stderr.write(`zync-client: ${line}\n`);
        runServiceAction(CLIENT_SERVICE, argv.action, args, { node: process.execPath, bin: resolve(process.argv[1] ?? "zync-client"), cwd: process.cwd(), env: process.env, out, warn });
      },
    )
    .completion("completion", "print a bash/zsh completion script (zync-client completion >> ~/.bashrc)", completeWithoutDefaultCommand)
    .parseAsync();
  return result;
}

/** The `--on-change` rules, each checked (a sentence and exit 2 for one that is malformed). */
function hookRules(values: readonly unknown[]): HookRule[] {
  return values.map((v) => {
    if (typeof v !== "string") throw new UsageError(`--on-change takes PATTERN=COMMAND strings (the config file's "on-change" is a list of them)`);
    const rule = parseHookRule(v);
    if ("problem" in rule) throw new UsageError(rule.problem);
    return rule;
  });
}

/** The roots this client's database remembers, for a command given no --dirs (a sentence when there are none). */
function rememberedDirs(dbPath: string): { name: string; abs: string }[] {
  if (!existsSync(dbPath)) throw new UsageError(`no client database at ${dbPath}; pass --dirs, or --db of a client that has synced`);
  const store = new ClientStore(dbPath);
  try {
    const dirs = store.cursors().flatMap((c) => (c.path === undefined ? [] : [{ name: c.root, abs: c.path }]));
    if (dirs.length === 0) throw new UsageError("this client has no roots yet; pass --dirs NAME:PATH");
    return dirs;
  } finally {
    store.close();
  }
}

/** An array option without the subcommand word that a greedy array option also took in. */
function withoutWord(values: string[] | undefined, word: string): string[] | undefined {
  return values?.filter((v) => v !== word);
}

function percent(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 100) throw new UsageError(`--${name} is a percentage from 0 to 100`);
  return v;
}

/** --paths entries must be plain relative paths inside a root. */
function checkPaths(paths: string[] | undefined): string[] | undefined {
  if (paths === undefined) return undefined;
  for (const p of paths) {
    const problem = wirePathProblem(p);
    if (problem !== undefined) throw new UsageError(`--paths entry ${JSON.stringify(p)} ${problem}; give a path relative to the root, like src or docs/notes.md`);
  }
  return paths;
}

boundMemory();
runCli("zync-client", main);

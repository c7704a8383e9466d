import { resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { boundMemory, completeWithoutDefaultCommand, configPathFromArgs, runServiceAction, createLogger, loadConfig, runCli, terminalJson, TOKEN_ENV, UsageError, withZyncDefaults } from "@zync/node";
import { daemonRuns, printDaemonRuns } from "./commands/daemonLog.js";
import { daemonStatus, printDaemonStatus } from "./commands/daemonStatus.js";
import { daemonWait } from "./commands/daemonWait.js";
import { checkIgnore, printIgnoreChecks } from "./commands/checkIgnore.js";
import { serve } from "./commands/serveCommand.js";
import { COMPRESS_MODES, DEFAULT_COMPRESS_MODE } from "@zync/protocol";
import { DAEMON_SERVICE } from "./commands/daemonService.js";

const EXAMPLES = [
  ["$0 --dirs docs:/home/user/documents code:/home/user/projects", "watch two folders, listen on 127.0.0.1:8000"],
  ["$0 --port 0 --db /tmp/zync.db --dirs src:.", "pick a free port (printed as 'listening on ws://...')"],
  ["$0 --dirs code:/home/user/projects --tunnel user@gpu-box", "also keep a tunnel from ~/.zync/zync.sock on gpu-box (mode 0600) to this daemon"],
  ["$0 --dirs code:/home/user/projects --tunnel user@gpu-box --remote-port 8000", "a TCP tunnel instead: port 8000 on gpu-box's loopback"],
  ["$0 status --db sync.db", "roots, head, clients, staged sessions, latest errors"],
  ["$0 check-ignore --db sync.db build/out.js src/", "is each path synced, and which rule in which file decided it"],
  ["$0 wait --db sync.db && ssh gpu-box make test", "wait until every connected client has E's latest saves, then use them"],
] as const;

const out = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number | void> {
  const args = hideBin(process.argv);
  // Each command reads from the config file only the settings it takes.
  const configPath = configPathFromArgs(args);
  let result: Promise<number | void> = Promise.resolve();
  await withZyncDefaults(yargs(args))
    .scriptName("zync-daemon")
    .usage("$0 [status|log|wait|check-ignore] --dirs NAME:PATH [NAME:PATH ...] [options]\n\nWatches folders on this workstation and serves their changes to zync clients.")
    .option("db", { type: "string", default: "sync.db", describe: "SQLite change log (one daemon per database)" })
    .option("config", { type: "string", describe: "JSON file of flag values (default: ./zync.config.json if present); flags win" })
    .command(
      "$0",
      "watch the folders and serve their changes",
      (y) =>
        y
          .config(loadConfig("daemon", configPath))
          .option("host", { type: "string", default: "127.0.0.1", describe: "address to listen on (keep it on loopback; use an SSH tunnel)" })
          .option("port", { type: "number", default: 8000, describe: "port to listen on; 0 picks a free one" })
          .option("dirs", { type: "string", array: true, demandOption: true, describe: "roots to serve, as name:/path" })
          .option("ignore", { type: "string", array: true, default: [] as string[], describe: "extra gitignore-style pattern (repeatable)" })
          .option("git-tracked-only", {
            type: "boolean",
            default: false,
            describe: "sync at most what git lists (tracked files and untracked ones git does not ignore), for every root: a ! in .zyncignore or --ignore no longer brings back what git ignores",
          })
          .option("token-file", { type: "string", describe: `file holding the shared token (default: <db>.token; ${TOKEN_ENV} wins)` })
          .option("rescan-interval", { type: "number", default: 600, describe: "seconds between full rescans that catch missed events; 0 = never" })
          .option("unwatched-rescan-interval", { type: "number", default: 30, describe: "seconds between rescans of the folders that cannot be watched (the system's inotify watch limit is reached)" })
          .option("tombstone-days", { type: "number", default: 30, describe: "days deletions are remembered for clients that are away" })
          .option("versions-days", { type: "number", default: 14, describe: "days a version E served or an apply replaced is kept in <db>.versions, the bases of merges" })
          .option("versions-max-mb", { type: "number", default: 1024, describe: "megabytes (compressed) <db>.versions may hold; the oldest versions go first" })
          .option("debounce", { type: "number", default: 5, describe: "milliseconds of quiet before a burst of events is indexed" })
          .option("allow-mass-delete", { type: "boolean", default: false, describe: "record it when a root vanishes or loses most files at once (else the root halts)" })
          .option("max-delete", { type: "number", default: 50, describe: "percent of a root's files that may vanish at once before it halts" })
          .option("git-wait", { type: "number", default: 30, describe: "seconds a git work tree's changes wait at most while git is busy in it (checkout, rebase, merge), to be recorded as one batch; 0 = never wait" })
          .option("compress", { choices: COMPRESS_MODES, default: DEFAULT_COMPRESS_MODE, describe: "compress data for clients that can: auto on a link with a round trip of 10 ms or more, always, or never" })
          .option("verbose", { type: "boolean", default: false, describe: "print more detail" })
          .option("quiet", { type: "boolean", default: false, describe: "print only the listening line, warnings and errors" })
          .option("json", { type: "boolean", default: false, describe: "print one JSON object per line per event on stdout, for tools (messages go to stderr)" })
          .option("tunnel", { type: "string", describe: "open the SSH reverse tunnel to R yourself, as [user@]host[:sshport], and restart it whenever it drops" })
          .option("tunnel-socket", { type: "string", describe: "with --tunnel: Unix socket on R that leads to this daemon, only for R's user (default ~/.zync/zync.sock in R's home)" })
          .option("remote-port", { type: "number", describe: "with --tunnel: forward a TCP port on R's loopback instead of a socket (any user on R can connect; the token still keeps them out)" })
          .option("ssh-option", { type: "string", array: true, describe: "with --tunnel: extra ssh option, passed as -o OPT (repeatable)" })
          .option("ssh-identity", { type: "string", describe: "with --tunnel: private key, passed as -i FILE (default: your ssh config and agent)" }),
      (argv) => {
        result = serve(argv);
      },
    )
    .command(
      "status",
      "show roots, head, clients and their cursors, staged sessions and the latest errors (works while the daemon runs)",
      (y) => y.config(loadConfig("daemon", configPath, ["db"])).option("json", { type: "boolean", default: false, describe: "print JSON" }),
      (argv) => {
        const s = daemonStatus(resolve(argv.db));
        if (argv.json) out(terminalJson(s));
        else printDaemonStatus(s, out);
      },
    )
    .command(
      "wait",
      "return once the connected clients (or --client ID) have applied every change E had when asked, saves made just before included",
      (y) =>
        y
          .config(loadConfig("daemon", configPath, ["db"]))
          .option("client", { type: "string", array: true, default: [] as string[], describe: "wait for this client id (repeatable; see zync-daemon status); default: every connected client" })
          .option("timeout", { type: "number", default: 120, describe: "seconds before giving up (exit 7)" })
          .option("quiet", { type: "boolean", default: false, describe: "print nothing on success" }),
      (argv) => {
        if (!Number.isFinite(argv.timeout) || argv.timeout <= 0) throw new UsageError("--timeout must be a number of seconds above 0");
        const logger = createLogger("zync-daemon", argv.quiet ? "quiet" : "normal");
        result = daemonWait({ dbPath: resolve(argv.db), clients: argv.client, timeoutMs: argv.timeout * 1000, logger });
      },
    )
    .command(
      "log",
      "show the connections the daemon served",
      (y) => y.config(loadConfig("daemon", configPath, ["db"])).option("json", { type: "boolean", default: false, describe: "print JSON" }).option("limit", { type: "number", default: 20, describe: "how many, newest first" }),
      (argv) => {
        if (!Number.isInteger(argv.limit) || argv.limit < 1) throw new UsageError("--limit must be a whole number of at least 1");
        const runs = daemonRuns(resolve(argv.db), argv.limit);
        if (argv.json) out(terminalJson(runs));
        else printDaemonRuns(runs, out);
      },
    )
    .command(
      "check-ignore <paths..>",
      "say for each path whether it is synced and which rule in which file (and line) decided it, like git check-ignore -v",
      (y) =>
        y
          .config(loadConfig("daemon", configPath, ["db"]))
          .positional("paths", { type: "string", array: true, demandOption: true, describe: "paths relative to this folder, or absolute, inside a served root" })
          .option("json", { type: "boolean", default: false, describe: "print JSON" }),
      (argv) => {
        const checks = checkIgnore(resolve(argv.db), argv.paths, process.cwd());
        if (argv.json) out(terminalJson(checks));
        else printIgnoreChecks(checks, out);
      },
    )
    .example(EXAMPLES.map(([a, b]) => [a, b]))
    .command(
      "service <action>",
      "install: write the systemd user unit that runs zync-daemon with the flags given after it; uninstall: remove it",
      (y) =>
        y
          .positional("action", { type: "string", choices: ["install", "uninstall"], demandOption: true })
          .option("unit-dir", { type: "string", describe: "folder for the unit (default: ~/.config/systemd/user)" })
          .strict(false),
      (argv) => {
        const warn = (line: string): void => void process.stderr.write(`zync-daemon: ${line}\n`);
        runServiceAction(DAEMON_SERVICE, argv.action, args, { node: process.execPath, bin: resolve(process.argv[1] ?? "zync-daemon"), cwd: process.cwd(), env: process.env, out, warn });
      },
    )
    .completion("completion", "print a bash/zsh completion script (zync-daemon completion >> ~/.bashrc)", completeWithoutDefaultCommand)
    .parseAsync();
  return result;
}

boundMemory();
runCli("zync-daemon", main);

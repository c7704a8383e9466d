import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseDirs } from "./dirsOption.js";
import { UsageError } from "./runCli.js";
import { renderUserUnit } from "./systemdUnit.js";

/** How one command becomes a service: which of its flags name local paths, and which make no sense in one. */
export type ServiceSpec = {
  /** The command, and the unit's name without `.service`. */
  command: "zync-daemon" | "zync-client";
  /** Flags whose value is a local path, written absolute into the unit. */
  pathFlags: readonly string[];
  /** The --db default, relative to the folder the command runs in, written absolute so the service finds it. */
  defaultDb: string;
  /** Flags of one-shot runs, refused in a service. */
  refused: readonly string[];
  /** One line for the unit's Description, from the roots it serves. */
  describe(dirs: string): string;
};

/** Where, and from what, `service install` and `service uninstall` work. */
export type ServiceContext = {
  /** The command's words after `service install` (the flags the service runs with). */
  flags: readonly string[];
  /** Folder of user units (default `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`). */
  unitDir?: string;
  /** The node binary and the bin the service runs. */
  node: string;
  bin: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command's own flags (from its --help), to refuse a misspelt one now rather than when the service starts. */
  knownFlags?: ReadonlySet<string>;
  out(line: string): void;
  warn(line: string): void;
};

type Flag = { name: string; inline?: string; values: string[] };

/** Splits command-line words into flags, each with the words that follow it up to the next flag. */
function splitFlags(words: readonly string[]): Flag[] {
  const flags: Flag[] = [];
  for (const word of words) {
    if (word.startsWith("-") && word.length > 1 && !/^-\d/.test(word)) {
      const bare = word.replace(/^--?/, "");
      const eq = bare.indexOf("=");
      flags.push(eq < 0 ? { name: bare, values: [] } : { name: bare.slice(0, eq), inline: bare.slice(eq + 1), values: [] });
    } else {
      const last = flags.at(-1);
      if (last === undefined) {
        throw new UsageError(`'service install' takes the flags the service runs with (like --dirs code:/path), not ${JSON.stringify(word)}`);
      }
      last.values.push(word);
    }
  }
  return flags;
}

/**
 * The flags a service runs with: the user's own, with every local path made absolute (the service does not start
 * in this folder), --db always given, and ./zync.config.json named when it is what this run would have read.
 */
export function serviceFlags(spec: ServiceSpec, words: readonly string[], cwd: string, known?: ReadonlySet<string>): { flags: string[]; dirs: string[] } {
  const flags = splitFlags(words);
  for (const f of flags) {
    const bare = f.name.startsWith("no-") ? f.name.slice(3) : f.name;
    if (known !== undefined && !known.has(f.name) && !known.has(bare)) throw new UsageError(`--${f.name} is not a flag of ${spec.command} (see ${spec.command} --help)`);
  }
  // Relative paths are read from `cwd`, exactly as the command itself would read them.
  const absolute = (p: string): string => resolve(cwd, p);
  const argv: string[] = [];
  const dirs: string[] = [];
  for (const f of flags) {
    if (spec.refused.includes(f.name)) throw new UsageError(`--${f.name} is for a one-shot run; a service runs the live ${spec.command}`);
    const values = f.inline === undefined ? f.values : [f.inline, ...f.values];
    if (f.name === "dirs") {
      const named = parseDirs(values, cwd).map((d) => `${d.name}:${d.abs}`);
      dirs.push(...named);
      argv.push("--dirs", ...named);
    } else if (spec.pathFlags.includes(f.name)) {
      if (values.length !== 1) throw new UsageError(`--${f.name} takes one path`);
      argv.push(`--${f.name}`, absolute(values[0]!));
    } else if (f.name === "server" && values.length === 1 && /^unix:(?!~\/)(?!\/)/.test(values[0]!)) {
      // A relative socket path; `unix:~/...` is this user's home to the client itself, so it stays.
      argv.push("--server", `unix:${absolute(values[0]!.slice("unix:".length))}`);
    } else {
      argv.push(f.inline === undefined ? `--${f.name}` : `--${f.name}=${f.inline}`, ...f.values);
    }
  }
  const given = new Set(flags.map((f) => f.name));
  if (!given.has("db")) argv.push("--db", resolve(cwd, spec.defaultDb));
  if (!given.has("config") && existsSync(join(cwd, "zync.config.json"))) argv.push("--config", join(cwd, "zync.config.json"));
  if (!given.has("dirs") && !given.has("config") && !existsSync(join(cwd, "zync.config.json"))) {
    throw new UsageError(`give the service its roots with --dirs name:/path (or --config FILE), as for ${spec.command} itself`);
  }
  return { flags: argv, dirs };
}

function unitDirOf(ctx: ServiceContext): string {
  if (ctx.unitDir !== undefined) return resolve(ctx.cwd, ctx.unitDir);
  const config = ctx.env.XDG_CONFIG_HOME && isAbsolute(ctx.env.XDG_CONFIG_HOME) ? ctx.env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(config, "systemd", "user");
}

/** Writes (or replaces) the command's systemd user unit, prints it and the systemctl line that starts it. */
export function installService(spec: ServiceSpec, ctx: ServiceContext): void {
  const { flags, dirs } = serviceFlags(spec, ctx.flags, ctx.cwd, ctx.knownFlags);
  if (spec.command === "zync-client" && !flags.includes("--token-file") && ctx.env.ZYNC_TOKEN?.trim()) {
    ctx.warn("the service will not see this shell's ZYNC_TOKEN; give --token-file FILE so it can read the token");
  }
  const dir = unitDirOf(ctx);
  const path = join(dir, `${spec.command}.service`);
  const text = renderUserUnit({
    description: spec.describe(dirs.length > 0 ? dirs.join(" ") : "the roots of its config file"),
    argv: [ctx.node, ctx.bin, ...flags],
    writtenBy: `${spec.command} service install`,
  });
  const existed = existsSync(path);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.tmp-${process.pid}`, text, { flag: "w", mode: 0o644 });
  renameSync(`${path}.tmp-${process.pid}`, path);
  ctx.out(`${existed ? "replaced" : "wrote"} ${path}:`);
  ctx.out("");
  for (const line of text.trimEnd().split("\n")) ctx.out(`  ${line}`);
  ctx.out("");
  ctx.out("start it now and at every login with:");
  ctx.out(`  systemctl --user daemon-reload && systemctl --user enable --now ${spec.command}`);
  ctx.out("and keep it running after you log out with: loginctl enable-linger $USER");
}

/** Removes the command's unit (and the link `systemctl enable` made for it); prints how to stop a running one. */
export function uninstallService(spec: ServiceSpec, ctx: ServiceContext): void {
  if (ctx.flags.length > 0) throw new UsageError("'service uninstall' takes only --unit-dir");
  const dir = unitDirOf(ctx);
  const path = join(dir, `${spec.command}.service`);
  if (!existsSync(path)) {
    ctx.out(`there is no ${spec.command}.service in ${dir}; nothing to remove`);
    return;
  }
  rmSync(path);
  const wants = join(dir, "default.target.wants", `${spec.command}.service`);
  let link = "";
  try {
    if (lstatSync(wants).isSymbolicLink() && resolve(join(dir, "default.target.wants"), readlinkSync(wants)) === path) {
      rmSync(wants);
      link = " and its default.target.wants link";
    }
  } catch {
    // Never enabled.
  }
  ctx.out(`removed ${path}${link}`);
  ctx.out(`stop a running one with: systemctl --user stop ${spec.command} && systemctl --user daemon-reload`);
}

/**
 * Runs `service install|uninstall` for a command: its flags are the command line's words other than `service`,
 * the action and `--unit-dir`.
 */
export function runServiceAction(spec: ServiceSpec, action: string, args: readonly string[], ctx: Omit<ServiceContext, "flags" | "unitDir">): void {
  const words = [...args];
  const at = words.findIndex((w, i) => w === "service" && (words[i + 1] === "install" || words[i + 1] === "uninstall"));
  if (at >= 0) words.splice(at, 2);
  let unitDir: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--unit-dir") {
      unitDir = words[i + 1];
      words.splice(i, 2);
      i--;
    } else if (w.startsWith("--unit-dir=")) {
      unitDir = w.slice("--unit-dir=".length);
      words.splice(i, 1);
      i--;
    }
  }
  const full = { ...ctx, flags: words, ...(unitDir === undefined ? {} : { unitDir }), ...knownFlagsOf(ctx.node, ctx.bin, ctx.env) };
  if (action === "install") installService(spec, full);
  else if (action === "uninstall") uninstallService(spec, full);
  else throw new UsageError(`service takes install or uninstall, not ${JSON.stringify(action)}`);
}

/** The flags the command's --help names, or nothing when it cannot be asked. */
function knownFlagsOf(node: string, bin: string, env: NodeJS.ProcessEnv): { knownFlags?: ReadonlySet<string> } {
  const help = spawnSync(node, [bin, "--help"], { encoding: "utf8", env, timeout: 30_000 });
  if (help.status !== 0 || typeof help.stdout !== "string") return {};
  const names = help.stdout.match(/--[a-z][a-z0-9-]*/g) ?? [];
  return names.length === 0 ? {} : { knownFlags: new Set(names.map((n) => n.slice(2))) };
}

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "./runCli.js";

/** The config file read from the current folder when no --config is given. */
export const DEFAULT_CONFIG_FILE = "zync.config.json";

/**
 * Reads a JSON config file for one command. Its keys are the command's long flag names (`"token-file"`,
 * `"dirs": [...]`); a `"daemon"` or `"client"` section holds settings for that command only and wins over the
 * top level. Flags given on the command line win over both. Returns {} when the default file is absent. With
 * `onlyKeys`, only those settings are returned (for subcommands that take fewer flags).
 */
export function loadConfig(command: "daemon" | "client", explicitPath: string | undefined, onlyKeys?: readonly string[]): Record<string, unknown> {
  const path = resolve(explicitPath ?? DEFAULT_CONFIG_FILE);
  if (explicitPath === undefined && !existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (err as Error).message;
    throw new UsageError(`cannot use config file ${path}: ${why}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`config file ${path} must hold a JSON object`);
  const { daemon, client, ...shared } = parsed as Record<string, unknown>;
  const section = command === "daemon" ? daemon : client;
  if (section !== undefined && (typeof section !== "object" || section === null || Array.isArray(section))) {
    throw new UsageError(`"${command}" in config file ${path} must be an object`);
  }
  const merged: Record<string, unknown> = { ...shared, ...(section as Record<string, unknown> | undefined) };
  // A subcommand such as `status` takes only some of the flags; the rest of the file is not for it.
  return onlyKeys === undefined ? merged : Object.fromEntries(Object.entries(merged).filter(([k]) => onlyKeys.includes(k)));
}

/** The value of `--config PATH` (or `--config=PATH`) in raw arguments, before the parser runs. */
export function configPathFromArgs(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--config") return args[i + 1];
    if (a.startsWith("--config=")) return a.slice("--config=".length);
  }
  return undefined;
}

import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { isRootName } from "@zync/protocol";
import { UsageError } from "./runCli.js";

/** A named root from `--dirs name:/path`. */
export type NamedDir = { name: string; abs: string };

/**
 * Parses `--dirs` entries of the form `name:/path` (a relative path is taken from the current directory, and a
 * leading `~/` is the user's home).
 * Names must be unique and made of letters, digits, '.', '_' or '-'.
 */
export function parseDirs(entries: readonly string[], cwd = process.cwd()): NamedDir[] {
  if (entries.length === 0) throw new UsageError("--dirs needs at least one entry of the form name:/path");
  const seen = new Set<string>();
  return entries.map((entry) => {
    const colon = entry.indexOf(":");
    if (colon <= 0 || colon === entry.length - 1) {
      throw new UsageError(`--dirs entry ${JSON.stringify(entry)} is not of the form name:/path`);
    }
    const name = entry.slice(0, colon);
    const path = entry.slice(colon + 1);
    if (!isRootName(name)) {
      throw new UsageError(`--dirs name ${JSON.stringify(name)} may only use letters, digits, '.', '_' and '-'`);
    }
    if (seen.has(name)) throw new UsageError(`--dirs names ${JSON.stringify(name)} twice`);
    seen.add(name);
    // The shell expands `~` only at the start of a word, never after `name:`, so it is expanded here.
    const expanded = path === "~" || path.startsWith("~/") ? `${homedir()}${path.slice(1)}` : path;
    return { name, abs: isAbsolute(expanded) ? resolve(expanded) : resolve(cwd, expanded) };
  });
}

/** Throws a UsageError unless every root exists and is a directory. */
export function requireExistingDirs(dirs: readonly NamedDir[]): void {
  for (const d of dirs) {
    let ok: boolean;
    try {
      ok = statSync(d.abs).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`root ${d.name}: ${d.abs} does not exist or is not a directory`);
  }
}

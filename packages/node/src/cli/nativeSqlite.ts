import { dirname } from "node:path";
import { ExitCode, ExitError } from "./runCli.js";

/**
 * Opens a database with better-sqlite3's constructor, turning "its native part was never built" (npm ran the
 * install without its script: --ignore-scripts, or install scripts not allowed) into one sentence saying how to
 * build it, instead of the module's list of every place it looked.
 */
export function openSqlite<T>(open: () => T): T {
  try {
    return open();
  } catch (err) {
    const message = err instanceof Error ? err.message : "";
    const missing = /^Could not locate the bindings file/.exec(message) !== null;
    if (!missing) throw err;
    const where = /→ (\S+?)[/\\]build[/\\]/.exec(message)?.[1];
    const rebuild = where === undefined ? "npm rebuild better-sqlite3 where zync is installed" : `cd ${dirname(dirname(where))} && npm rebuild better-sqlite3`;
    throw new ExitError(
      ExitCode.Failure,
      `the SQLite module (better-sqlite3) was installed without its native part, as when npm skips install scripts; build it with '${rebuild}', or install zync again with 'npm install -g --allow-scripts=better-sqlite3 ./zync-VERSION.tgz'`,
      { cause: err },
    );
  }
}

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Thrown when another live zync process already holds the database. */
export class DatabaseBusyError extends Error {
  constructor(dbPath: string, pid: number) {
    super(`another zync process (pid ${pid}) is already using ${dbPath}; stop it or use a different --db`);
    this.name = "DatabaseBusyError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of the live process holding the database's lock, or undefined when none does. */
export function lockHolder(dbPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${dbPath}.lock`, "utf8"), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid !== process.pid && alive(pid) ? pid : undefined;
}

/**
 * Takes the one-process-per-database lock: a `<db>.lock` file holding the owner's pid. A lock left by a process
 * that no longer runs is taken over. Returns the release function.
 */
export function lockDatabase(dbPath: string): () => void {
  const lockPath = `${dbPath}.lock`;
  // A database in a folder that does not exist yet (~/.zync on a first run) gets its folder.
  mkdirSync(dirname(dbPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number.parseInt(readFileSync(lockPath, "utf8"), 10);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new DatabaseBusyError(dbPath, pid);
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`could not lock ${dbPath}`);
}

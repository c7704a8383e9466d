import { existsSync } from "node:fs";
import { ChangeLog, openDatabase, stagingDirFor, StagingStore } from "@zync/daemon";
import { UsageError, type NamedDir } from "@zync/node";

/** The daemon's database opened for review: staged sessions and the folder of each root. */
export type ReviewContext = {
  staging: StagingStore;
  /** The folder on E of a root, or undefined when neither --dirs nor the database names it. */
  rootPath(name: string): string | undefined;
  close(): void;
};

/**
 * Opens the daemon's database (it may be running: SQLite's WAL lets both work). Roots come from `--dirs` when
 * given, otherwise from what the daemon recorded.
 */
export function openReview(dbPath: string, dirs: readonly NamedDir[] | undefined): ReviewContext {
  if (!existsSync(dbPath)) throw new UsageError(`no zync database at ${dbPath}; pass the daemon's --db`);
  const db = openDatabase(dbPath);
  const recorded = new ChangeLog(db).roots();
  const roots = new Map<string, string>(dirs ? dirs.map((d) => [d.name, d.abs]) : recorded.map((r) => [r.name, r.path]));
  return {
    staging: new StagingStore(db, stagingDirFor(dbPath)),
    rootPath: (name) => roots.get(name),
    close: () => db.close(),
  };
}

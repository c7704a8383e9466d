import { existsSync } from "node:fs";
import { ChangeLog, openDatabase, ownFilePatterns, stagingDirFor, StagingStore, versionDirFor, VersionStore } from "@zync/daemon";
import { loadIgnoreRules, UsageError, type IgnoreRules, type NamedDir } from "@zync/node";

/** The daemon's database opened for review: staged sessions and the folder of each root. */
export type ReviewContext = {
  staging: StagingStore;
  /** E's past versions (those served to clients, those an apply replaced): the bases of merges. */
  versions: VersionStore;
  /** The folder on E of a root, or undefined when neither --dirs nor the database names it. */
  rootPath(name: string): string | undefined;
  /** E's ignore rules for a root as the daemon serves it: defaults, the root's .zyncignore, the daemon's extras. */
  rulesFor(name: string, rootAbs: string): IgnoreRules;
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
  const staging = new StagingStore(db, stagingDirFor(dbPath));
  return {
    staging,
    versions: new VersionStore(versionDirFor(dbPath)),
    rootPath: (name) => roots.get(name),
    // The database's own files are left out even if the daemon never recorded its patterns.
    rulesFor: (name, rootAbs) => loadIgnoreRules(rootAbs, [...staging.ignoreExtras(name), ...ownFilePatterns(dbPath, rootAbs)], { trackedOnly: staging.trackedOnly(name) }),
    close: () => db.close(),
  };
}

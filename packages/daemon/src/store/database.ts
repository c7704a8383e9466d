import Database from "better-sqlite3";
import { openSqlite } from "@zync/node";
import { migrate } from "./migrations.js";

/** Opens the daemon's database in WAL mode and brings its schema up to date. */
export function openDatabase(path: string): Database.Database {
  const db = openSqlite(() => new Database(path));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/** The folder next to the database where upstream sessions keep their content. */
export function stagingDirFor(dbPath: string): string {
  return `${dbPath}.staging`;
}

import type Database from "better-sqlite3";

/** One client connection as the daemon's history keeps it. */
export type ServedConnection = {
  id: number;
  clientId: string | undefined;
  address: string | undefined;
  startedAt: number;
  endedAt: number | undefined;
  /** Changes listed to the client. */
  changes: number;
  /** Files and bytes sent. */
  files: number;
  bytes: number;
  error: string | undefined;
};

/** A warning or error the daemon logged. */
export type DaemonEvent = { at: number; level: "warn" | "error"; message: string };

/** A path the daemon leaves out for now, and why. */
export type SkippedPath = { root: string; path: string; reason: string; since: number };

/** A root whose recording is halted by the mass-deletion guard. */
export type HaltedRoot = { root: string; since: number; reason: string };

type ServeRow = { id: number; client_id: string | null; address: string | null; started_at: number; ended_at: number | null; changes: number; files: number; bytes: number; error: string | null };

/** What the activity log tells a live observer (the daemon's `--json` events). */
export type ActivityNotice =
  | { kind: "connected"; clientId: string; address: string | undefined }
  | { kind: "disconnected"; clientId: string; changes: number; files: number; bytes: number; error: string | undefined }
  | { kind: "halted"; root: string; reason: string }
  | { kind: "resumed"; root: string };

/** Keeps this many rows of history and events. */
const KEEP = 1000;

/**
 * What the daemon did, kept in its database so `zync-daemon status` and `zync-daemon log` can read it from
 * another process: each connection served, recent warnings, which clients are connected, which roots are halted.
 */
export class ActivityLog {
  private readonly stmt;
  private readonly haltListeners = new Set<() => void>();
  private readonly observers = new Set<(notice: ActivityNotice) => void>();
  /** Addresses of the connections open now, by history row. */
  private readonly addresses = new Map<number, string | undefined>();

  constructor(db: Database.Database) {
    this.stmt = {
      open: db.prepare("INSERT INTO serve_log (client_id, address, started_at) VALUES (?, ?, ?)"),
      identify: db.prepare("UPDATE serve_log SET client_id = ? WHERE id = ?"),
      close: db.prepare("UPDATE serve_log SET ended_at = @ended, changes = @changes, files = @files, bytes = @bytes, error = @error WHERE id = @id"),
      served: db.prepare<[number], ServeRow>("SELECT * FROM serve_log ORDER BY id DESC LIMIT ?"),
      pruneServed: db.prepare(`DELETE FROM serve_log WHERE id <= (SELECT MAX(id) FROM serve_log) - ${KEEP}`),
      present: db.prepare(
        `INSERT INTO clients (id, acked_seq, first_seen, last_seen, connected) VALUES (@id, 0, @now, @now, @connected)
         ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, connected = MAX(0, connected + @delta)`,
      ),
      resetPresence: db.prepare("UPDATE clients SET connected = 0"),
      connected: db.prepare<[], { id: string }>("SELECT id FROM clients WHERE connected > 0"),
      event: db.prepare("INSERT INTO events (at, level, message) VALUES (?, ?, ?)"),
      events: db.prepare<[number], DaemonEvent>("SELECT at, level, message FROM events ORDER BY id DESC LIMIT ?"),
      pruneEvents: db.prepare(`DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ${KEEP}`),
      halt: db.prepare("INSERT INTO halted_roots (root, since, reason) VALUES (?, ?, ?) ON CONFLICT (root) DO UPDATE SET reason = excluded.reason"),
      resume: db.prepare("DELETE FROM halted_roots WHERE root = ?"),
      halted: db.prepare<[], HaltedRoot>("SELECT root, since, reason FROM halted_roots ORDER BY root"),
      skip: db.prepare("INSERT INTO skipped_paths (root, path, reason, since) VALUES (?, ?, ?, ?) ON CONFLICT (root, path) DO UPDATE SET reason = excluded.reason"),
      unskip: db.prepare("DELETE FROM skipped_paths WHERE root = ? AND path = ?"),
      clearSkipped: db.prepare("DELETE FROM skipped_paths"),
      skipped: db.prepare<[number], SkippedPath>("SELECT root, path, reason, since FROM skipped_paths ORDER BY root, path LIMIT ?"),
      skippedCount: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM skipped_paths"),
    };
  }

  /** A daemon starting up has no connections yet, whatever an earlier one left behind. */
  resetPresence(): void {
    this.stmt.resetPresence.run();
  }

  /** Starts a history row for a new connection; returns its id. */
  opened(address: string | undefined): number {
    this.stmt.pruneServed.run();
    const id = Number(this.stmt.open.run(null, address ?? null, Date.now()).lastInsertRowid);
    this.addresses.set(id, address);
    return id;
  }

  /** Calls `observer` with every client connected or gone and every root halted or resumed; returns the way to stop. */
  observe(observer: (notice: ActivityNotice) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private tell(notice: ActivityNotice): void {
    for (const o of this.observers) o(notice);
  }

  /** The connection said who it is (HELLO); it counts as connected until {@link closed}. */
  identified(rowId: number, clientId: string): void {
    this.stmt.identify.run(clientId, rowId);
    this.stmt.present.run({ id: clientId, now: Date.now(), connected: 1, delta: 1 });
    this.tell({ kind: "connected", clientId, address: this.addresses.get(rowId) });
  }

  closed(rowId: number, clientId: string | undefined, totals: { changes: number; files: number; bytes: number; error?: string }): void {
    this.stmt.close.run({ id: rowId, ended: Date.now(), changes: totals.changes, files: totals.files, bytes: totals.bytes, error: totals.error ?? null });
    this.addresses.delete(rowId);
    if (clientId === undefined) return;
    this.stmt.present.run({ id: clientId, now: Date.now(), connected: 0, delta: -1 });
    this.tell({ kind: "disconnected", clientId, changes: totals.changes, files: totals.files, bytes: totals.bytes, error: totals.error });
  }

  /** Ids of the clients connected now. */
  connectedClients(): Set<string> {
    return new Set(this.stmt.connected.all().map((r) => r.id));
  }

  /** The newest connections first. */
  served(limit: number): ServedConnection[] {
    return this.stmt.served.all(limit).map((r) => ({
      id: r.id,
      clientId: r.client_id ?? undefined,
      address: r.address ?? undefined,
      startedAt: r.started_at,
      endedAt: r.ended_at ?? undefined,
      changes: r.changes,
      files: r.files,
      bytes: r.bytes,
      error: r.error ?? undefined,
    }));
  }

  event(level: DaemonEvent["level"], message: string): void {
    this.stmt.pruneEvents.run();
    this.stmt.event.run(Date.now(), level, message);
  }

  /** The newest warnings and errors first. */
  events(limit: number): DaemonEvent[] {
    return this.stmt.events.all(limit);
  }

  /** Calls `listener` after every halt or resume of a root; returns the way to stop. */
  onHaltsChanged(listener: () => void): () => void {
    this.haltListeners.add(listener);
    return () => this.haltListeners.delete(listener);
  }

  halt(root: string, reason: string): void {
    this.stmt.halt.run(root, Date.now(), reason);
    for (const l of this.haltListeners) l();
    this.tell({ kind: "halted", root, reason });
  }

  resume(root: string): void {
    if (this.stmt.resume.run(root).changes === 0) return;
    for (const l of this.haltListeners) l();
    this.tell({ kind: "resumed", root });
  }

  halted(): HaltedRoot[] {
    return this.stmt.halted.all();
  }

  /** Notes that a path is left out (unreadable, special, unsendable name). */
  skipped(root: string, path: string, reason: string): void {
    this.stmt.skip.run(root, path, reason, Date.now());
  }

  /** A path left out before is synced again, or gone. */
  unskipped(root: string, path: string): void {
    this.stmt.unskip.run(root, path);
  }

  /** A daemon starting up finds the paths it leaves out again. */
  clearSkipped(): void {
    this.stmt.clearSkipped.run();
  }

  /** Paths left out now (at most `limit`), and how many there are in all. */
  skippedPaths(limit: number): { paths: SkippedPath[]; total: number } {
    return { paths: this.stmt.skipped.all(limit), total: this.stmt.skippedCount.get()?.n ?? 0 };
  }
}

/**
 * Barrier cookies (the "synced through" barrier of `zync-client wait` and `zync-daemon wait`). A waiter writes a
 * file named `.zync-cookie-<random>` at the top of each root. The watcher reports it in order with every other
 * event, so by the time the daemon has indexed the batch that holds it, every save made before the cookie is
 * recorded; the change log's head at that moment is what the wait waits for. Cookies are never synced.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync, rmSync } from "node:fs";
import type Database from "better-sqlite3";
import { COOKIE_PREFIX } from "@zync/node";

/** How long a barrier waits for the watcher to report its cookie. */
export const BARRIER_TIMEOUT_MS = 10_000;

/** How long seen cookies are kept for waiters in other processes. */
const KEEP_MS = 60 * 60 * 1000;

/** A new cookie name. */
export function newCookieName(): string {
  return `${COOKIE_PREFIX}${randomBytes(16).toString("hex")}`;
}

/** Writes the cookie file at the top of a root (never over an existing file). */
export function placeCookie(rootAbs: string, name: string): void {
  closeSync(openSync(`${rootAbs}/${name}`, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
}

/** Removes a cookie file; one already gone is fine. */
export function removeCookie(rootAbs: string, name: string): void {
  rmSync(`${rootAbs}/${name}`, { force: true });
}

/** Where the daemon notes the cookies its watcher saw, for waiters in this process and in others. */
export class CookieBoard {
  private readonly db: Database.Database;
  private readonly waiters = new Map<string, (head: number) => void>();
  private readonly clock: () => number;

  constructor(db: Database.Database, clock: () => number = Date.now) {
    this.db = db;
    this.clock = clock;
  }

  /** The watcher's batch holding cookie `name` of `root` has been indexed; `head` is the log's head then. */
  seen(root: string, name: string, head: number): void {
    const now = this.clock();
    this.db.prepare("INSERT OR REPLACE INTO seen_cookies (name, root, head, at) VALUES (?, ?, ?, ?)").run(name, root, head, now);
    this.db.prepare("DELETE FROM seen_cookies WHERE at < ?").run(now - KEEP_MS);
    this.waiters.get(name)?.(head);
    this.waiters.delete(name);
  }

  /** The head recorded when cookie `name` was seen, or undefined when it has not been seen (yet). */
  headWhenSeen(name: string): number | undefined {
    return this.db.prepare<[string], { head: number }>("SELECT head FROM seen_cookies WHERE name = ?").get(name)?.head;
  }

  /** Resolves with the head once cookie `name` is seen, or undefined after `timeoutMs`. */
  waitFor(name: string, timeoutMs: number): Promise<number | undefined> {
    const known = this.headWhenSeen(name);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(name);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(name, (head) => {
        clearTimeout(timer);
        resolve(head);
      });
    });
  }
}

/** Why a barrier could not pass: the watcher of a root did not report its cookie in time. */
export class BarrierTimeout extends Error {
  readonly root: string;

  constructor(root: string, seconds: number) {
    super(`E's watcher did not report the barrier file in root ${root} within ${seconds} s; is the root being watched? (see zync-daemon status)`);
    this.name = "BarrierTimeout";
    this.root = root;
  }
}

/**
 * Passes a barrier in the daemon's own process: a cookie in each root, each awaited, then removed. Resolves with
 * the highest head seen, the sequence number a client must have applied to be in step with this moment.
 */
export async function passBarrier(board: CookieBoard, roots: readonly { name: string; abs: string }[], timeoutMs: number): Promise<number> {
  const placed = roots.map((r) => ({ ...r, cookie: newCookieName() }));
  try {
    for (const p of placed) placeCookie(p.abs, p.cookie);
    let head = 0;
    for (const p of placed) {
      const seen = await board.waitFor(p.cookie, timeoutMs);
      if (seen === undefined) throw new BarrierTimeout(p.name, Math.round(timeoutMs / 1000));
      head = Math.max(head, seen);
    }
    return head;
  } finally {
    for (const p of placed) removeCookie(p.abs, p.cookie);
  }
}

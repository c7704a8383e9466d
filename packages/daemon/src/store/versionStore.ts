import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip, createGzip, gunzip, gzip, constants as zlibConstants } from "node:zlib";
import { createHasher, hashBytes } from "@zync/node";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Retention and size bounds of the version store. */
export type VersionLimits = {
  /** A version not stored or served again for this long is pruned. */
  maxAgeMs: number;
  /** What all stored versions may take on disk (compressed); the oldest go first. */
  maxBytes: number;
  /** Largest file stored when it is served (an apply keeps what it replaces whatever its size). */
  maxFileBytes: number;
};

export const DEFAULT_VERSION_LIMITS: VersionLimits = {
  maxAgeMs: 14 * 24 * 60 * 60 * 1000,
  maxBytes: 1024 * 1024 * 1024,
  maxFileBytes: 1024 * 1024,
};

/** How often a running daemon prunes its version store. */
export const VERSION_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** The folder of the version store kept next to the database (outside the watched roots unless the database is in one). */
export function versionDirFor(dbPath: string): string {
  return `${dbPath}.versions`;
}

const HASH = /^[0-9a-f]{16}$/;

/** A version served again within this long is not written or touched again (its age is far from the limit). */
const RENEW_AFTER_MS = 60 * 60 * 1000;
/** Bound of the memory of recently renewed versions. */
const MAX_RENEWED = 100_000;
const SUFFIX = ".gz";

/** Where a served version was served: noted once it is stored (see {@link VersionStore.keepServed}). */
export type ServedAt = { root: string; path: string; note: (root: string, path: string, hash: string, at: number) => void };

/** What a prune removed and what is left. */
export type PruneResult = { removed: number; keptFiles: number; keptBytes: number };

/**
 * Past versions of E's files, content-addressed by zync's hash and gzip-compressed, one file per hash
 * (`<hash>.gz`). Written atomically (a temp file renamed into place), so a version that exists is whole; its hash
 * is checked again on every read, so a damaged copy is never returned. A version's file time is when it was last
 * stored or served, which is what retention by age counts from. Used by the daemon (the versions it served to
 * clients) and zync-apply (every version of E's files an apply replaced), to give a 3-way merge its base.
 */
export class VersionStore {
  readonly dir: string;
  readonly limits: VersionLimits;
  private readonly now: () => number;
  private readonly pending = new Set<string>();
  /** When each version served lately was stored or renewed: serving it again within an hour touches no disk. */
  private readonly renewed = new Map<string, number>();

  constructor(dir: string, limits: Partial<VersionLimits> = {}, now: () => number = Date.now) {
    this.dir = dir;
    this.limits = { ...DEFAULT_VERSION_LIMITS, ...limits };
    this.now = now;
  }

  private pathOf(hash: string): string {
    return join(this.dir, `${hash}${SUFFIX}`);
  }

  /** True when the version with this hash is stored. */
  has(hash: string): boolean {
    return HASH.test(hash) && existsSync(this.pathOf(hash));
  }

  /**
   * Stores `bytes` under `hash`, once: a version already stored only has its time renewed. The bytes must hash
   * to `hash` (checked; content that does not is not stored and false is returned).
   */
  async put(hash: string, bytes: Uint8Array): Promise<boolean> {
    if (!HASH.test(hash)) return false;
    const target = this.pathOf(hash);
    if (existsSync(target)) {
      this.touch(target);
      return true;
    }
    if (this.pending.has(hash)) return true;
    this.pending.add(hash);
    try {
      if ((await hashBytes(bytes)) !== hash) return false;
      const packed = await gzipAsync(bytes, { level: zlibConstants.Z_BEST_SPEED });
      mkdirSync(this.dir, { recursive: true });
      const temp = join(this.dir, `.tmp-${randomBytes(6).toString("hex")}`);
      // Written and flushed off the event loop: a daemon serving a live save never waits for this disk's flush.
      await writeFile(temp, packed, { flush: true });
      await rename(temp, target);
      this.touch(target);
      return true;
    } finally {
      this.pending.delete(hash);
    }
  }

  /**
   * Stores the file at `path` under `hash`, once, streamed (a large file is never held in memory): kept only when
   * what was read hashes to `hash`. Returns false when it did not (the file changed meanwhile).
   */
  async putFile(hash: string, path: string): Promise<boolean> {
    if (!HASH.test(hash)) return false;
    const target = this.pathOf(hash);
    if (existsSync(target)) {
      this.touch(target);
      return true;
    }
    mkdirSync(this.dir, { recursive: true });
    const temp = join(this.dir, `.tmp-${randomBytes(6).toString("hex")}`);
    const hasher = await createHasher();
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hasher.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(createReadStream(path), tap, createGzip({ level: zlibConstants.Z_BEST_SPEED }), createWriteStream(temp, { flush: true }));
      if (hasher.digest() !== hash) return false;
      renameSync(temp, target);
      this.touch(target);
      return true;
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /**
   * Stores a version that was served to a client, without holding up the caller: only files up to
   * {@link VersionLimits.maxFileBytes}, none at all when {@link VersionLimits.maxBytes} is 0, errors (a full disk)
   * are reported to `onError` and otherwise ignored. With `servedAt`, once the version is stored the path it was
   * served for is noted (`servedAt.note`), so it can be given back for that path alone.
   */
  keepServed(hash: string, bytes: Uint8Array, onError: (err: unknown) => void = () => undefined, servedAt?: ServedAt): void {
    if (this.limits.maxBytes <= 0 || bytes.byteLength > this.limits.maxFileBytes || this.pending.has(hash)) return;
    const now = this.now();
    const key = servedAt === undefined ? hash : `${servedAt.root}\0${servedAt.path}\0${hash}`;
    if ((this.renewed.get(key) ?? Number.NEGATIVE_INFINITY) > now - RENEW_AFTER_MS) return;
    if (this.renewed.size >= MAX_RENEWED) this.renewed.clear();
    this.renewed.set(key, now);
    setImmediate(() => {
      this.put(hash, bytes)
        .then((stored) => {
          if (stored) servedAt?.note(servedAt.root, servedAt.path, hash, now);
        })
        .catch((err: unknown) => {
          this.renewed.delete(key);
          onError(err);
        });
    });
  }

  /**
   * The content stored under `hash`, or undefined when none is stored, the stored copy is damaged, or it holds more
   * than `maxBytes` (it is never inflated past that).
   */
  async get(hash: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer | undefined> {
    if (!HASH.test(hash)) return undefined;
    let packed: Buffer;
    try {
      packed = readFileSync(this.pathOf(hash));
    } catch {
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = await gunzipAsync(packed, maxBytes < Number.MAX_SAFE_INTEGER ? { maxOutputLength: Math.max(1, maxBytes) } : {});
    } catch {
      return undefined;
    }
    return (await hashBytes(bytes)) === hash ? bytes : undefined;
  }

  /**
   * The content stored under `hash` as a stream (a large version is never held in memory whole), or undefined
   * when none is stored. The stream is not checked against the hash: the reader must check what it got.
   */
  open(hash: string): Readable | undefined {
    if (!HASH.test(hash)) return undefined;
    let source: Readable;
    try {
      source = createReadStream(this.pathOf(hash), { fd: openSync(this.pathOf(hash), "r") });
    } catch {
      return undefined;
    }
    const gunzipStream = createGunzip();
    source.on("error", (err) => gunzipStream.destroy(err));
    return source.pipe(gunzipStream);
  }

  /** Compressed bytes and number of versions stored. */
  size(): { files: number; bytes: number } {
    const list = this.list();
    return { files: list.length, bytes: list.reduce((n, v) => n + v.size, 0) };
  }

  /**
   * Removes versions older than {@link VersionLimits.maxAgeMs}, then the oldest until the rest fit in
   * {@link VersionLimits.maxBytes}, and temp files left by a killed write.
   */
  prune(): PruneResult {
    const cutoff = this.now() - this.limits.maxAgeMs;
    let removed = 0;
    if (existsSync(this.dir)) {
      for (const name of readdirSync(this.dir)) {
        // A temp file a minute old belongs to a write that was killed.
        if (name.startsWith(".tmp-") && this.ageOf(join(this.dir, name)) < this.now() - 60_000) {
          rmSync(join(this.dir, name), { force: true });
        }
      }
    }
    const list = this.list().sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = list.reduce((n, v) => n + v.size, 0);
    const kept: typeof list = [];
    for (const v of list) {
      if (v.mtimeMs < cutoff || total > this.limits.maxBytes) {
        rmSync(v.path, { force: true });
        total -= v.size;
        removed++;
      } else {
        kept.push(v);
      }
    }
    return { removed, keptFiles: kept.length, keptBytes: total };
  }

  private ageOf(path: string): number {
    try {
      return statSync(path).mtimeMs;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  private touch(path: string): void {
    const t = new Date(this.now());
    try {
      utimesSync(path, t, t);
    } catch {
      // Pruned meanwhile: it is stored again the next time it is served.
    }
  }

  private list(): { path: string; size: number; mtimeMs: number }[] {
    if (!existsSync(this.dir)) return [];
    const out: { path: string; size: number; mtimeMs: number }[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(SUFFIX) || !HASH.test(name.slice(0, -SUFFIX.length))) continue;
      const path = join(this.dir, name);
      try {
        const st = statSync(path);
        out.push({ path, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // Removed meanwhile.
      }
    }
    return out;
  }
}

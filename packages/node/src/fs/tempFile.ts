import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  futimesSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { createHasher, type ContentHasher } from "./hash.js";
import { statKeyOfFd, type StatKey } from "./statKey.js";
import { TEMP_DIR } from "./ignoreRules.js";

// These are small, local metadata operations on the write path of thousands of files. Synchronous calls skip
// the thread pool and a promise per call, which on small files is most of the cost.

/** Seconds as a double cannot hold every millisecond exactly; a tenth of a millisecond more reads back right. */
function secondsOf(mtimeMs: number): number {
  return (mtimeMs + 0.1) / 1000;
}

/** Sets a file's mtime to a whole millisecond. */
export async function setMtime(path: string, mtimeMs: number): Promise<void> {
  utimesSync(path, secondsOf(mtimeMs), secondsOf(mtimeMs));
}

/** Temp folders known to exist in this process. */
const madeTempDirs = new Set<string>();

function tempPath(rootAbs: string): string {
  const dir = `${rootAbs}/${TEMP_DIR}`;
  if (!madeTempDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeTempDirs.add(dir);
  }
  return `${dir}/${process.pid}-${TEMP_PREFIX}-${(tempCount++).toString(36)}`;
}

/** Temp names are this process's id, a random part drawn once, and a count: unique without a draw per file. */
const TEMP_PREFIX = randomBytes(6).toString("hex");
let tempCount = 0;

/** Removes what an earlier, interrupted run left in a root's temp folder. Nothing there was ever at a final name. */
export async function clearTempDir(rootAbs: string): Promise<void> {
  rmSync(`${rootAbs}/${TEMP_DIR}`, { recursive: true, force: true });
  madeTempDirs.delete(`${rootAbs}/${TEMP_DIR}`);
}

/** Removes a root's temp folder if nothing is left in it, so a finished run leaves no trace. */
export async function dropTempDirIfEmpty(rootAbs: string): Promise<void> {
  try {
    rmdirSync(`${rootAbs}/${TEMP_DIR}`);
    madeTempDirs.delete(`${rootAbs}/${TEMP_DIR}`);
  } catch {
    // not empty (another run is writing) or already gone
  }
}

/**
 * A file being received: written under the root's temp folder, hashed as it is written, and moved to its final
 * name by an atomic rename only when complete. A crash leaves the final name untouched.
 */
export class TempFile {
  readonly path: string;
  private fd: number | undefined;
  private readonly hasher: ContentHasher;
  private size = 0;
  /** The stat key of the finished file, read through its descriptor; undefined until {@link finish}. */
  key: StatKey | undefined;

  private constructor(path: string, fd: number, hasher: ContentHasher) {
    this.path = path;
    this.fd = fd;
    this.hasher = hasher;
  }

  /** Opens a new temp file under `rootAbs`. */
  static async create(rootAbs: string): Promise<TempFile> {
    const hasher = await createHasher();
    const path = tempPath(rootAbs);
    return new TempFile(path, openSync(path, "wx", 0o600), hasher);
  }

  /** Appends bytes. Callers await each write before the next, so memory stays bounded. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.fd === undefined) throw new Error("temp file already closed");
    this.hasher.update(bytes);
    this.size += bytes.byteLength;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(this.fd, bytes, off, bytes.byteLength - off);
  }

  /**
   * Applies mode and mtime, closes the file, and returns what was written, with the stat key of exactly these
   * bytes (read through the descriptor, so an edit made after the rename can never be taken for them).
   */
  async finish(opts: { mode: number; mtimeMs: number; fsync: boolean }): Promise<{ hash: string; size: number; key: StatKey }> {
    const fd = this.fd;
    if (fd === undefined) throw new Error("temp file already closed");
    this.fd = undefined;
    let key: StatKey;
    try {
      fchmodSync(fd, opts.mode & 0o777);
      futimesSync(fd, secondsOf(opts.mtimeMs), secondsOf(opts.mtimeMs));
      if (opts.fsync) fsyncSync(fd);
      key = statKeyOfFd(fd);
    } finally {
      closeSync(fd);
    }
    this.key = key;
    return { hash: this.hasher.digest(), size: this.size, key };
  }

  /** Moves the finished file to its final name in one step. */
  async commit(finalAbs: string): Promise<void> {
    renameSync(this.path, finalAbs);
  }

  /** Closes (if open) and deletes the temp file. */
  async discard(): Promise<void> {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    rmSync(this.path, { force: true });
  }
}

/** Creates or replaces a symlink at `finalAbs` atomically (link made under the temp folder, then renamed). */
export async function writeSymlinkAtomic(rootAbs: string, target: string, finalAbs: string): Promise<void> {
  const path = tempPath(rootAbs);
  symlinkSync(target, path);
  try {
    renameSync(path, finalAbs);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}

/**
 * Copies a local file into a new temp file under `rootAbs`, with the given mode and mtime, and returns it only
 * if the bytes copied have `expect.hash`; otherwise (the source changed meanwhile) discards it and returns
 * undefined.
 */
export async function copyToTemp(
  rootAbs: string,
  sourceAbs: string,
  expect: { hash: string; mode: number; mtimeMs: number },
  fsync: boolean,
): Promise<TempFile | undefined> {
  const temp = await TempFile.create(rootAbs);
  try {
    const fd = openSync(sourceAbs, "r");
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        await temp.write(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    const got = await temp.finish({ mode: expect.mode, mtimeMs: expect.mtimeMs, fsync });
    if (got.hash === expect.hash) return temp;
  } catch {
    // fall through: the caller downloads instead
  }
  await temp.discard();
  return undefined;
}

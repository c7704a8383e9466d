import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, mkdir, open, rename, rm, rmdir, symlink, utimes, type FileHandle } from "node:fs/promises";
import { createHasher, type ContentHasher } from "./hash.js";
import { TEMP_DIR } from "./ignoreRules.js";

/**
 * Sets a file's mtime to a whole millisecond. Seconds as a double cannot hold every millisecond exactly, so a
 * tenth of a millisecond is added: the time reads back as the same whole millisecond instead of one less.
 */
export async function setMtime(path: string, mtimeMs: number): Promise<void> {
  const seconds = (mtimeMs + 0.1) / 1000;
  await utimes(path, seconds, seconds);
}

function tempPath(rootAbs: string): string {
  return `${rootAbs}/${TEMP_DIR}/${process.pid}-${randomBytes(6).toString("hex")}`;
}

/** Removes what an earlier, interrupted run left in a root's temp folder. Nothing there was ever at a final name. */
export async function clearTempDir(rootAbs: string): Promise<void> {
  await rm(`${rootAbs}/${TEMP_DIR}`, { recursive: true, force: true });
}

/** Removes a root's temp folder if nothing is left in it, so a finished run leaves no trace. */
export async function dropTempDirIfEmpty(rootAbs: string): Promise<void> {
  await rmdir(`${rootAbs}/${TEMP_DIR}`).catch(() => undefined);
}

/**
 * A file being received: written under the root's temp folder, hashed as it is written, and moved to its final
 * name by an atomic rename only when complete. A crash leaves the final name untouched.
 */
export class TempFile {
  readonly path: string;
  private readonly handle: FileHandle;
  private readonly hasher: ContentHasher;
  private size = 0;

  private constructor(path: string, handle: FileHandle, hasher: ContentHasher) {
    this.path = path;
    this.handle = handle;
    this.hasher = hasher;
  }

  /** Opens a new temp file under `rootAbs`. */
  static async create(rootAbs: string): Promise<TempFile> {
    await mkdir(`${rootAbs}/${TEMP_DIR}`, { recursive: true });
    const path = tempPath(rootAbs);
    const [handle, hasher] = await Promise.all([open(path, "wx", 0o600), createHasher()]);
    return new TempFile(path, handle, hasher);
  }

  /** Appends bytes. Callers await each write before the next, so memory stays bounded. */
  async write(bytes: Uint8Array): Promise<void> {
    this.hasher.update(bytes);
    this.size += bytes.byteLength;
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
  }

  /** Closes the file, applies mode and mtime, and returns what was written. */
  async finish(opts: { mode: number; mtimeMs: number; fsync: boolean }): Promise<{ hash: string; size: number }> {
    try {
      if (opts.fsync) await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    await chmod(this.path, opts.mode & 0o7777);
    await setMtime(this.path, opts.mtimeMs);
    return { hash: this.hasher.digest(), size: this.size };
  }

  /** Moves the finished file to its final name in one step. */
  async commit(finalAbs: string): Promise<void> {
    await rename(this.path, finalAbs);
  }

  /** Closes (if open) and deletes the temp file. */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/** Creates or replaces a symlink at `finalAbs` atomically (link made under the temp folder, then renamed). */
export async function writeSymlinkAtomic(rootAbs: string, target: string, finalAbs: string): Promise<void> {
  await mkdir(`${rootAbs}/${TEMP_DIR}`, { recursive: true });
  const path = tempPath(rootAbs);
  await symlink(target, path);
  try {
    await rename(path, finalAbs);
  } catch (err) {
    await rm(path, { force: true });
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
    for await (const chunk of createReadStream(sourceAbs, { highWaterMark: 1024 * 1024 })) await temp.write(chunk as Buffer);
    const got = await temp.finish({ mode: expect.mode, mtimeMs: expect.mtimeMs, fsync });
    if (got.hash === expect.hash) return temp;
  } catch {
    // fall through: the caller downloads instead
  }
  await temp.discard();
  return undefined;
}

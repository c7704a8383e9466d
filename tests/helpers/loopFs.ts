import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A filesystem made and mounted by the test setup. */
export type MountedFs = {
  /** The mount point (writable; it may hold `lost+found`, so put roots in a folder below it). */
  dir: string;
  /** Unmounts it and removes the image. */
  cleanup(): void;
};

/** A mounted filesystem, or the sentence saying why this machine cannot make one. */
export type MadeFs = { ok: true; fs: MountedFs } | { ok: false; reason: string };

function sh(cmd: string, args: readonly string[], timeout = 60_000): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], timeout });
}

/** The first line of a failed command's error output (or of the error itself). */
function why(err: unknown): string {
  const e = err as { stderr?: Buffer; message?: string };
  const text = e.stderr?.toString().trim() || e.message || String(err);
  return text.split("\n")[0]!;
}

function findTool(name: string): string | undefined {
  return ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/**
 * Makes sure `tools` are on this machine, installing `packages` with apt-get when they are missing and this
 * process may (root, apt-get present). Returns undefined when ready, or why not.
 */
function ensureTools(tools: readonly string[], packages: readonly string[]): string | undefined {
  if (tools.every((t) => findTool(t) !== undefined)) return undefined;
  if (process.getuid?.() !== 0) return `${tools.join(", ")} missing and installing ${packages.join(", ")} needs root`;
  if (!existsSync("/usr/bin/apt-get")) return `${tools.join(", ")} missing and there is no apt-get to install ${packages.join(", ")}`;
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], { stdio: "ignore", timeout: 600_000, env });
  } catch {
    try {
      execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
      execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
        stdio: "ignore",
        timeout: 600_000,
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch (err) {
      return `installing ${packages.join(", ")} with apt-get failed: ${why(err)}`;
    }
  }
  return tools.every((t) => findTool(t) !== undefined) ? undefined : `${tools.join(", ")} still missing after apt-get install ${packages.join(" ")}`;
}

/** Why a loop device cannot be used here, or undefined when one can. */
function loopUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "loop-mounting an image needs root";
  if (!existsSync("/dev/loop-control") && !existsSync("/dev/loop0")) return "this machine has no loop devices (/dev/loop-control is missing)";
  try {
    execFileSync("losetup", ["-f"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    return `no free loop device (losetup -f: ${why(err)})`;
  }
  return undefined;
}

function unmount(dir: string): void {
  try {
    sh("umount", [dir]);
  } catch {
    // Busy (a process still has a file open): detach now, the kernel finishes when it is released.
    try {
      sh("umount", ["-l", dir]);
    } catch {
      // Not mounted any more.
    }
  }
}

function imageIn(sizeMiB: number): { base: string; image: string; dir: string } {
  // Not a tempDir(): removeTempDirs must never rm -rf a folder that is still mounted.
  const base = mkdtempSync(join(tmpdir(), "zync-loopfs-"));
  const image = `${base}/fs.img`;
  const dir = `${base}/mnt`;
  mkdirSync(dir);
  sh("truncate", ["-s", `${sizeMiB}M`, image]);
  return { base, image, dir };
}

/**
 * A loop-mounted ext4 of `sizeMiB` MiB. `inodeSize: 128` gives 128-byte inodes, which store timestamps in whole
 * seconds (no room for nanoseconds), like many older or simpler filesystems.
 */
export function makeExt4(sizeMiB: number, opts: { inodeSize?: 128 | 256 } = {}): MadeFs {
  const noLoop = loopUnavailable();
  if (noLoop !== undefined) return { ok: false, reason: noLoop };
  const missing = ensureTools(["mkfs.ext4"], ["e2fsprogs"]);
  if (missing !== undefined) return { ok: false, reason: missing };
  const { base, image, dir } = imageIn(sizeMiB);
  try {
    // -m 0: no blocks reserved for root (the tests run as root, and a full disk must be full for them too).
    sh(findTool("mkfs.ext4")!, ["-q", "-F", "-m", "0", ...(opts.inodeSize ? ["-I", String(opts.inodeSize)] : []), image]);
    sh("mount", ["-o", "loop", image, dir]);
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    return { ok: false, reason: `could not make and loop-mount an ext4 image: ${why(err)}` };
  }
  return {
    ok: true,
    fs: {
      dir,
      cleanup: () => {
        unmount(dir);
        rmSync(base, { recursive: true, force: true });
      },
    },
  };
}

/**
 * An exFAT image of `sizeMiB` MiB mounted through FUSE (exfat-fuse): a case-insensitive, case-preserving
 * filesystem without symlinks or permission bits (files show as 0644, folders as 0755). Installs exfat-fuse and
 * exfatprogs with apt-get when they are missing.
 */
export function makeExfat(sizeMiB: number): MadeFs {
  if (process.getuid?.() !== 0) return { ok: false, reason: "mounting an exFAT image through FUSE needs root" };
  if (!existsSync("/dev/fuse")) return { ok: false, reason: "this machine has no /dev/fuse, so exFAT cannot be mounted through FUSE" };
  // As root, exfat-fuse mounts a block device (fuseblk), so the image goes on a loop device first.
  const noLoop = loopUnavailable();
  if (noLoop !== undefined) return { ok: false, reason: noLoop };
  const missing = ensureTools(["mkfs.exfat", "mount.exfat-fuse"], ["exfat-fuse", "exfatprogs"]);
  if (missing !== undefined) return { ok: false, reason: missing };
  const { base, image, dir } = imageIn(sizeMiB);
  let device: string | undefined;
  const release = (): void => {
    if (device !== undefined) {
      try {
        sh("losetup", ["-d", device]);
      } catch {
        // Already detached (umount of a loop mount may do it).
      }
    }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    sh(findTool("mkfs.exfat")!, [image]);
    device = execFileSync("losetup", ["--find", "--show", image], { stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
    sh(findTool("mount.exfat-fuse")!, ["-o", "uid=0,gid=0,fmask=0133,dmask=0022", device, dir]);
  } catch (err) {
    release();
    return { ok: false, reason: `could not make and mount an exFAT image through FUSE: ${why(err)}` };
  }
  return {
    ok: true,
    fs: {
      dir,
      cleanup: () => {
        unmount(dir);
        release();
      },
    },
  };
}

/** The test title, with why it is skipped appended when the filesystem could not be made. */
export function titled(title: string, made: MadeFs): string {
  return made.ok ? title : `${title} (skipped: ${made.reason})`;
}

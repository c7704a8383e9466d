import { spawn } from "node:child_process";
import { open } from "node:fs/promises";

/**
 * How the executor makes what it wrote durable before it records it: temp files' data before they are renamed
 * into place, and the renames (their folders) before the page that names them is committed. One call flushes
 * both, so a chunk's data and the previous chunk's renames share one flush. Injected so tests can check the
 * order and simulate a power cut that drops what was never flushed.
 */
export type Durability = {
  /** Flushes the data of `files` and the entries of `dirs` (renames, creations and removals in them). */
  flush(files: readonly string[], dirs: readonly string[]): Promise<void>;
};

/** No flushing at all (`--no-fsync`): faster, and a power cut may leave R behind what its database says. */
export const NO_DURABILITY: Durability = { flush: async () => undefined };

async function fsyncEach(paths: readonly string[]): Promise<void> {
  await Promise.all(
    paths.map(async (p) => {
      // A folder the same pass removed has nothing left to flush: its removal is in its parent, flushed too.
      const fh = await open(p, "r").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
        throw err;
      });
      if (fh === undefined) return;
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }),
  );
}

/** Runs `sync -f` on the filesystem holding `abs`; false when that cannot be done here. */
function runSyncfs(abs: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("sync", ["-f", abs], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("close", (code) => resolve(code === 0));
  });
}

/** Up to this many files and folders are fsynced one by one: cheaper than starting `sync -f` for a live save. */
const FSYNC_EACH_UP_TO = 8;

/**
 * Flushes through the filesystem the root lives on: one `syncfs` per batch (coreutils `sync -f`) flushes every
 * file and folder written there at once, which costs far less than an fsync per file. A batch of a few paths (a
 * live save) and a filesystem where `sync -f` is not available have each file and folder fsynced instead.
 */
export function filesystemDurability(rootAbs: string): Durability {
  let syncfs: boolean | undefined;
  return {
    flush: async (files, dirs) => {
      if (files.length === 0 && dirs.length === 0) return;
      if (syncfs !== false && files.length + dirs.length > FSYNC_EACH_UP_TO) {
        syncfs = await runSyncfs(rootAbs);
        if (syncfs) return;
      }
      await fsyncEach([...new Set([...files, ...dirs])]);
    },
  };
}

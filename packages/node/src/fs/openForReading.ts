import { constants, openSync } from "node:fs";

/**
 * Opens a file without updating its access time where the system allows it (the owner of the file, or root):
 * reading thousands of files otherwise turns into thousands of inode writes on E's disk.
 */
export function openForReading(absPath: string, flags: number): number {
  const noatime = constants.O_NOATIME ?? 0;
  if (noatime !== 0) {
    try {
      return openSync(absPath, flags | noatime);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EPERM") throw err;
    }
  }
  return openSync(absPath, flags);
}

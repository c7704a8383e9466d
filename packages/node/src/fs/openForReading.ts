import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { ErrorCode, ProtocolError } from "@zync/protocol";

function openNoAtime(absPath: string, flags: number): number {
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

/**
 * Opens a regular file for reading, and only a regular file. The open never waits: O_NONBLOCK, so a path that
 * became a FIFO since it was listed cannot hold the event loop until a writer comes (a FIFO opened for reading
 * with O_NONBLOCK returns at once; a device or socket fails or returns at once). The descriptor is fstat'ed, and
 * anything but a regular file is closed again and refused with NOT_FOUND. The access time is not updated where
 * the system allows it (the owner of the file, or root): reading thousands of files otherwise turns into
 * thousands of inode writes on E's disk. O_NONBLOCK has no effect on reads of a regular file.
 */
export function openForReading(absPath: string, flags: number): number {
  const fd = openNoAtime(absPath, flags | (constants.O_NONBLOCK ?? 0));
  let regular: boolean;
  try {
    regular = fstatSync(fd).isFile();
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!regular) {
    closeSync(fd);
    throw new ProtocolError(ErrorCode.NotFound, `${absPath} is not a regular file`);
  }
  return fd;
}

/** True for the errors that say a path exists but this user may not read it. */
export function isUnreadable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "EACCES" || code === "EPERM";
}

import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * How many inotify watches a process holds: the kernel lists one `inotify wd:` line per watch in the fdinfo of
 * each inotify descriptor. Undefined where /proc does not show it (not Linux, or the process is gone).
 */
export function inotifyWatches(pid: number): number | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  let watches = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== "anon_inode:inotify") continue;
      watches += readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8")
        .split("\n")
        .filter((line) => line.startsWith("inotify wd:")).length;
    } catch {
      // closed meanwhile
    }
  }
  return watches;
}

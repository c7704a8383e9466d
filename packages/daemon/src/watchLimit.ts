/**
 * The system's limit on inotify watches, and what the daemon decides when a root needs more watches than it
 * could place: which subtrees the periodic rescans cover, how high the limit must go, and the sentence that says so.
 */

/** Where Linux shows the limit: the machine's (fs.inotify.max_user_watches) and the user namespace's own. */
export const WATCH_LIMIT_FILES = ["/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches"] as const;

/** The sysctl that raises the limit. */
export const WATCH_LIMIT_SYSCTL = "fs.inotify.max_user_watches";

/** A root's watches when some of its folders could not be watched. */
export type WatchShortfall = {
  /** The root's wire name. */
  root: string;
  /** Watches in place (one per folder). */
  watched: number;
  /** Folders the root wants watched: every folder that is not ignored, the root folder included. */
  needed: number;
  /** The limit in force, or undefined when the system does not show it. */
  limit: number | undefined;
  /** Seconds between the rescans of the folders left unwatched. */
  rescanSeconds: number;
};

/**
 * The limit in force: the lowest of the values shown (a user namespace may hold a lower one than the
 * machine's). `read` returns a file's text, or undefined when it cannot be read.
 */
export function effectiveWatchLimit(read: (file: string) => string | undefined): number | undefined {
  let limit: number | undefined;
  for (const file of WATCH_LIMIT_FILES) {
    const text = read(file)?.trim();
    if (text === undefined || !/^\d+$/.test(text)) continue;
    const n = Number(text);
    limit = limit === undefined ? n : Math.min(limit, n);
  }
  return limit;
}

/**
 * The limit that would let every folder be watched, assuming other programs keep the watches they hold: the
 * present limit plus the watches missing. Undefined when the present limit is not known.
 */
export function limitNeeded(s: Pick<WatchShortfall, "watched" | "needed" | "limit">): number | undefined {
  if (s.limit === undefined) return undefined;
  return s.limit + Math.max(0, s.needed - s.watched);
}

/**
 * The folders whose subtrees a rescan must walk: those not below another one in the list ("" is the root folder,
 * which covers all). Sorted, without repeats.
 */
export function topmostFolders(folders: Iterable<string>): string[] {
  const all = new Set(folders);
  if (all.has("")) return [""];
  const under = (f: string): boolean => {
    for (let cut = f.indexOf("/"); cut >= 0; cut = f.indexOf("/", cut + 1)) if (all.has(f.slice(0, cut))) return true;
    return false;
  };
  return [...all].filter((f) => !under(f)).sort();
}

const count = (n: number): string => n.toLocaleString("en-US");

/** The one sentence that says a root hit the watch limit: what it needs, how to raise it, what happens meanwhile. */
export function watchLimitSentence(s: WatchShortfall): string {
  const target = limitNeeded(s);
  const limitText = s.limit === undefined ? "the system's limit on inotify watches" : `the system's limit of ${count(s.limit)} inotify watches`;
  const raise = target === undefined ? `raise ${WATCH_LIMIT_SYSCTL}` : `raise it with 'sysctl ${WATCH_LIMIT_SYSCTL}=${target}' (as root)`;
  return (
    `root ${s.root} needs ${count(s.needed)} inotify watches (one per folder) but got only ${count(s.watched)}, because ${limitText} is reached; ` +
    `${raise}; until then its ${count(Math.max(0, s.needed - s.watched))} unwatched folder(s) are rescanned every ${s.rescanSeconds} s and the rest syncs live`
  );
}

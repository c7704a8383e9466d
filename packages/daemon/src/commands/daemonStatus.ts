import { existsSync, readFileSync } from "node:fs";
import { escapeControl as e, formatBytes, UsageError } from "@zync/node";
import { SessionStatus } from "@zync/protocol";
import { ActivityLog, type DaemonEvent } from "../store/activityLog.js";
import { ChangeLog } from "../store/changeLog.js";
import { GitStore } from "../store/gitStore.js";
import { openDatabase, stagingDirFor } from "../store/database.js";
import { StagingStore } from "../upstream/stagingStore.js";
import { versionDirFor, VersionStore } from "../store/versionStore.js";
import { WatchCoverageStore, type RootCoverage } from "../store/watchCoverage.js";

/** What `zync-daemon status` reports. */
export type DaemonStatus = {
  db: string;
  /** The pid of the daemon running on this database, or null when none is. */
  runningPid: number | null;
  head: number;
  epoch: string;
  roots: {
    name: string;
    path: string;
    files: number;
    halted: string | null;
    watchLimit: RootCoverage | null;
    /** For a root in a git work tree: its branch (null when detached), commit, and whether recording waits for git. */
    git?: { branch: string | null; commit: string | null; waitingForGit: { since: string; reason: string } | null };
  }[];
  clients: { id: string; connected: boolean; ackedSeq: number; behind: number; lastSeen: string }[];
  sessions: { id: number; status: string; root: string; changes: number; pending: number; created: string }[];
  lastErrors: { at: string; level: DaemonEvent["level"]; message: string }[];
  /** Paths left out for now (unreadable, FIFOs, sockets, devices, unsendable names): the first few, and the count. */
  skipped: { root: string; path: string; reason: string }[];
  skippedTotal: number;
  /** E's version store (the bases of merges): where it is, how many versions it holds and their size on disk. */
  versions: { path: string; files: number; bytes: number };
};

/** How many left-out paths status lists by name. */
const SKIPPED_SHOWN = 20;

function runningPid(dbPath: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(`${dbPath}.lock`, "utf8"), 10);
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Reads the daemon's state from its database; works while the daemon runs. */
export function daemonStatus(dbPath: string): DaemonStatus {
  if (!existsSync(dbPath)) throw new UsageError(`no zync database at ${dbPath}; pass the daemon's --db`);
  const db = openDatabase(dbPath);
  try {
    const log = new ChangeLog(db);
    const activity = new ActivityLog(db);
    const staging = new StagingStore(db, stagingDirFor(dbPath));
    const connected = activity.connectedClients();
    const halted = new Map(activity.halted().map((h) => [h.root, h.reason]));
    const head = log.head();
    const coverage = new WatchCoverageStore(db).all();
    const skipped = activity.skippedPaths(SKIPPED_SHOWN);
    const open: string[] = [SessionStatus.Receiving, SessionStatus.Pending, SessionStatus.Partial];
    const git = new Map(new GitStore(db).states().map((g) => [g.root, g]));
    const pid = runningPid(dbPath);
    return {
      db: dbPath,
      runningPid: pid,
      head,
      epoch: log.epoch,
      roots: log.roots().map((r) => {
        const g = git.get(r.name);
        const state = { name: r.name, path: r.path, files: log.liveFileCount(r.name), halted: halted.get(r.name) ?? null, watchLimit: coverage.get(r.name) ?? null };
        if (g === undefined) return state;
        // A wait noted by a daemon that is not running any more is not going on.
        const waiting = g.waiting !== null && pid !== null ? { since: new Date(g.waiting.since).toISOString(), reason: g.waiting.reason } : null;
        return { ...state, git: { branch: g.branch, commit: g.commit, waitingForGit: waiting } };
      }),
      clients: log.clients().map((c) => ({
        id: c.id,
        connected: connected.has(c.id),
        ackedSeq: c.ackedSeq,
        behind: Math.max(0, head - c.ackedSeq),
        lastSeen: new Date(c.lastSeen).toISOString(),
      })),
      sessions: staging
        .list()
        .filter((s) => open.includes(s.status))
        .map((s) => ({ id: s.id, status: s.status, root: s.root, changes: s.changes, pending: s.pending, created: new Date(s.createdAt).toISOString() })),
      skipped: skipped.paths.map((p) => ({ root: p.root, path: p.path, reason: p.reason })),
      skippedTotal: skipped.total,
      versions: { path: versionDirFor(dbPath), ...new VersionStore(versionDirFor(dbPath)).size() },
      lastErrors: activity.events(5).map((e) => ({ at: new Date(e.at).toISOString(), level: e.level, message: e.message })),
    };
  } finally {
    db.close();
  }
}

const time = (iso: string): string => iso.replace("T", " ").slice(0, 19);

/** Prints the status for a person. */
export function printDaemonStatus(s: DaemonStatus, out: (line: string) => void): void {
  // Client ids and messages come from R, and paths may hold anything: every one is printed escaped.
  out(`daemon: ${s.runningPid === null ? "not running" : `running (pid ${s.runningPid})`} on ${e(s.db)}; head ${s.head}`);
  for (const r of s.roots) {
    out(`root ${e(r.name)}: ${e(r.path)}, ${r.files} files${r.halted ? `, HALTED: ${e(r.halted)}` : ""}`);
    if (r.git !== undefined) out(`  git: ${gitLine(r.git)}`);
    if (r.watchLimit !== null) printWatchLimit(r.watchLimit, out);
  }
  if (s.clients.length === 0) out("clients: none yet");
  for (const c of s.clients) {
    out(`client ${e(c.id)}: ${c.connected ? "connected" : "not connected"}, acknowledged ${c.ackedSeq}${c.behind ? ` (${c.behind} behind)` : " (up to date)"}, last seen ${time(c.lastSeen)}`);
  }
  out(`version store: ${s.versions.files} version(s), ${formatBytes(s.versions.bytes)} in ${e(s.versions.path)}`);
  if (s.sessions.length === 0) out("upstream sessions waiting: none");
  for (const x of s.sessions) out(`upstream session ${x.id} (${x.status}) for ${e(x.root)}: ${x.pending} of ${x.changes} change(s) pending; review with 'zync-apply apply ${x.id}'`);
  if (s.skippedTotal > 0) {
    out(`not syncing ${s.skippedTotal} path(s):`);
    for (const p of s.skipped) out(`  ${e(p.root)}/${e(p.path)}: ${e(p.reason)}`);
    if (s.skippedTotal > s.skipped.length) out(`  … and ${s.skippedTotal - s.skipped.length} more`);
  }
  if (s.lastErrors.length > 0) {
    out("latest warnings and errors:");
    for (const ev of s.lastErrors) out(`  ${time(ev.at)} ${e(ev.message)}`);
  }
}

/** The lines of a root short of inotify watches: how many folders are watched and how the rest is kept in step. */
function printWatchLimit(c: RootCoverage, out: (line: string) => void): void {
  const raise = c.limitNeeded === null ? "raise fs.inotify.max_user_watches" : `raise it with 'sysctl fs.inotify.max_user_watches=${c.limitNeeded}'`;
  const last = c.lastRescanAt === null ? "not yet" : `last at ${time(new Date(c.lastRescanAt).toISOString())}`;
  out(`  WATCH LIMIT: ${c.watched} of ${c.needed} folders watched (${raise}); ${c.unwatchedTotal} unwatched subtree(s) rescanned every ${c.rescanSeconds} s (${last}):`);
  for (const f of c.unwatched) out(`    ${f === "" ? "(the root folder)" : e(f)}`);
  if (c.unwatchedTotal > c.unwatched.length) out(`    … and ${c.unwatchedTotal - c.unwatched.length} more`);
}

/** A root's git state in words: branch and commit, and the wait for git if there is one. Branch names are escaped. */
export function gitLine(g: NonNullable<DaemonStatus["roots"][number]["git"]>): string {
  const at = g.commit === null ? "no commit yet" : `commit ${g.commit.slice(0, 12)}`;
  const head = g.branch === null ? `detached HEAD, ${at}` : `branch ${e(g.branch)}, ${at}`;
  return g.waitingForGit === null ? head : `${head}; waiting for git since ${time(g.waitingForGit.since)} (${e(g.waitingForGit.reason)})`;
}

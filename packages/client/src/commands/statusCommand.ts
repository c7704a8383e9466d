import { existsSync } from "node:fs";
import { escapeControl as e, loadIgnoreRules, UsageError, type NamedDir } from "@zync/node";
import { formatTime } from "@zync/node";
import type { HaltedRoot } from "@zync/protocol";
import { ClientStore } from "../store/clientStore.js";
import { connect } from "../syncSession.js";
import { scanUpstream } from "../upstream/scanUpstream.js";
import { gitHeadWords } from "../gitStateNotices.js";

/** What `zync-client status` reports. */
export type ClientStatus = {
  daemon: { url: string; reachable: boolean; head?: number; error?: string };
  roots: {
    name: string;
    path: string | undefined;
    cursor: number;
    behind?: number;
    pendingUpstream?: number;
    /** How the root's filesystem was found at the last pull: does it ignore case, does it keep permission bits. */
    caseInsensitive: boolean;
    keepsModes: boolean;
    /** Set when E has halted recording this root (its mass-deletion guard), as the daemon said just now. */
    haltedOnE?: { reason: string; since: string };
    /**
     * Feature git, for a root that is a git work tree on E: its branch (null when detached) and commit, and whether E
     * waits for git in it, as the daemon said just now or, failing that, as the live client last heard (`heard`).
     */
    gitOnE?: { branch: string | null; commit: string | null; waitingForGit: { since: string; reason: string } | null; heard: string };
  }[];
  lastSync: string | null;
  conflicts: { root: string; path: string; detected: string }[];
  /** Paths E changed that R could not write (a full disk, a name R cannot hold), tried again at every pull. */
  notWritten: { root: string; path: string; reason: string; since: string }[];
};

/**
 * Collects the client's state: each root's cursor against the daemon's head (when the daemon can be reached),
 * the last successful pull, open conflicts, and how many of R's own changes wait to go upstream.
 */
export async function clientStatus(dbPath: string, url: string, token: string | undefined, dirs: NamedDir[] | undefined, ignore: string[]): Promise<ClientStatus> {
  if (!existsSync(dbPath)) throw new UsageError(`no client database at ${dbPath}; pass --db, or pull once first`);
  const store = new ClientStore(dbPath);
  try {
    const daemon: ClientStatus["daemon"] = { url, reachable: false };
    let halted: readonly HaltedRoot[] = [];
    // What E last said about its roots' git state: this connection's GIT_STATE if it came with WELCOME, else the
    // live client's.
    let git = store.gitState();
    if (token === undefined) daemon.error = "not checked: no token (ZYNC_TOKEN or --token-file)";
    else {
      try {
        const conn = await connect(store, url, token, false);
        daemon.reachable = true;
        daemon.head = conn.welcome.head;
        halted = conn.halted;
        if (conn.gitState !== undefined) git = { heardAt: Date.now(), roots: [...conn.gitState] };
        conn.close();
      } catch (err) {
        daemon.error = err instanceof Error ? err.message : String(err);
      }
    }
    const cursors = store.cursors();
    const known = dirs ?? cursors.filter((c) => c.path !== undefined).map((c) => ({ name: c.root, abs: c.path! }));
    const roots: ClientStatus["roots"] = [];
    for (const d of known) {
      const cursor = cursors.find((c) => c.root === d.name)?.seq ?? 0;
      const pending = existsSync(d.abs) ? (await scanUpstream(store, d.name, d.abs, loadIgnoreRules(d.abs, ignore, { gitIgnoreFilesAnywhere: true }))).length : undefined;
      const traits = store.traits(d.name);
      const halt = halted.find((h) => h.root === d.name);
      const g = git?.roots.find((r) => r.root === d.name);
      roots.push({
        name: d.name,
        path: d.abs,
        cursor,
        ...(daemon.head !== undefined ? { behind: Math.max(0, daemon.head - cursor) } : {}),
        ...(pending !== undefined ? { pendingUpstream: pending } : {}),
        caseInsensitive: traits.foldsCase,
        keepsModes: traits.keepsModes,
        ...(halt ? { haltedOnE: { reason: halt.reason, since: new Date(halt.since).toISOString() } } : {}),
        ...(g && git
          ? {
              gitOnE: {
                branch: g.branch,
                commit: g.commit,
                waitingForGit: g.waiting === null ? null : { since: new Date(g.waiting.since).toISOString(), reason: g.waiting.reason },
                heard: new Date(git.heardAt).toISOString(),
              },
            }
          : {}),
      });
    }
    const last = store.lastGoodPull();
    return {
      daemon,
      roots,
      lastSync: last?.endedAt ? new Date(last.endedAt).toISOString() : null,
      conflicts: store.conflicts().map((c) => ({ root: c.root, path: c.path, detected: new Date(c.detectedAt).toISOString() })),
      notWritten: store.unplaced().map((u) => ({ root: u.root, path: u.path, reason: u.reason, since: new Date(u.at).toISOString() })),
    };
  } finally {
    store.close();
  }
}

/** Prints the status for a person. */
export function printStatus(s: ClientStatus, out: (line: string) => void): void {
  // What the daemon said, and paths it sent, are printed escaped.
  out(s.daemon.reachable ? `daemon: ${e(s.daemon.url)} reachable, head ${s.daemon.head}` : `daemon: ${e(s.daemon.url)} ${e(s.daemon.error ?? "unreachable")}`);
  for (const r of s.roots) {
    const behind = r.behind === undefined ? "" : r.behind === 0 ? ", up to date" : `, ${r.behind} change(s) behind at most`;
    const up = r.pendingUpstream ? `, ${r.pendingUpstream} change(s) of R's own not pushed upstream` : "";
    const fs = [r.caseInsensitive ? "ignores case" : "", r.keepsModes ? "" : "keeps no permission bits"].filter(Boolean).join(", ");
    out(`root ${e(r.name)}: ${e(r.path ?? "(folder unknown)")}, cursor ${r.cursor}${behind}${up}${fs ? ` (its filesystem ${fs})` : ""}`);
    if (r.gitOnE) {
      const wait = r.gitOnE.waitingForGit === null ? "" : `; waiting for git since ${formatTime(Date.parse(r.gitOnE.waitingForGit.since))} (${e(r.gitOnE.waitingForGit.reason)})`;
      out(`  git on E: ${gitHeadWords(r.gitOnE)}${wait} (as heard ${formatTime(Date.parse(r.gitOnE.heard))})`);
    }
    if (r.haltedOnE) out(`  halted on E since ${formatTime(Date.parse(r.haltedOnE.since))}: ${e(r.haltedOnE.reason)}; nothing new is recorded for it there`);
  }
  out(`last successful pull: ${s.lastSync ? formatTime(Date.parse(s.lastSync)) : "never"}`);
  if (s.conflicts.length === 0) out("conflicts: none");
  else {
    out(`conflicts: ${s.conflicts.length}`);
    for (const c of s.conflicts) out(`  ${e(`${c.root}/${c.path}`)} (since ${formatTime(Date.parse(c.detected))})`);
  }
  if (s.notWritten.length > 0) {
    out(`not written on R: ${s.notWritten.length} (tried again at every pull)`);
    for (const u of s.notWritten) out(`  ${e(`${u.root}/${u.path}`)}: ${e(u.reason)} (since ${formatTime(Date.parse(u.since))})`);
  }
}

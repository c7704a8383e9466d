import type { GitRootState } from "@zync/protocol";
import { escapeControl as e, type Logger, type NamedDir } from "@zync/node";
import { NO_EVENTS, type ClientEvents } from "./events.js";
import type { ClientStore } from "./store/clientStore.js";

/** A root's git state on E in words: branch (escaped: it comes from E) and commit. */
export function gitHeadWords(g: Pick<GitRootState, "branch" | "commit">): string {
  const at = g.commit === null ? "no commit yet" : `commit ${g.commit.slice(0, 12)}`;
  return g.branch === null ? `detached HEAD, ${at}` : `branch ${e(g.branch)}, ${at}`;
}

/**
 * Feature git on a live client: keeps what E last said about its roots' git state in the database (for
 * `zync-client status`), and tells the user and tools when it changes: a line when E starts and stops waiting for
 * git in a root this client syncs, and an event for every change.
 */
export class GitStateReporter {
  private readonly store: ClientStore;
  private readonly dirs: readonly NamedDir[];
  private readonly logger: Logger;
  private readonly events: ClientEvents;
  private readonly last = new Map<string, string>();

  constructor(store: ClientStore, dirs: readonly NamedDir[], logger: Logger, events: ClientEvents = NO_EVENTS) {
    this.store = store;
    this.dirs = dirs;
    this.logger = logger;
    this.events = events;
  }

  update(roots: readonly GitRootState[]): void {
    try {
      this.store.rememberGitState(roots);
    } catch (err) {
      this.logger.warn(`could not keep E's git state in the client database: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const g of roots) {
      if (!this.dirs.some((d) => d.name === g.root)) continue;
      const text = JSON.stringify(g);
      const before = this.last.get(g.root);
      if (before === text) continue;
      this.last.set(g.root, text);
      const was = before === undefined ? undefined : (JSON.parse(before) as GitRootState);
      if (g.waiting !== null && was?.waiting == null) this.logger.info(`E is waiting for git in root ${g.root} (${e(g.waiting.reason)}); its changes come as one batch when git is done`);
      if (g.waiting === null && was?.waiting != null) this.logger.info(`E is done waiting for git in root ${g.root}: ${gitHeadWords(g)}`);
      this.events({ event: "git", root: g.root, branch: g.branch, commit: g.commit, waitingSince: g.waiting?.since ?? null, reason: g.waiting?.reason ?? null });
    }
  }
}

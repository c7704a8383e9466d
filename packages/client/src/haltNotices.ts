import type { HaltedRoot } from "@zync/protocol";
import { NO_EVENTS, type ClientEvents } from "./events.js";
import { escapeControl, ExitCode, ExitError, type Logger, type NamedDir } from "@zync/node";

/** The halted roots among those this run syncs. */
export function haltsOf(halted: readonly HaltedRoot[], dirs: readonly NamedDir[]): HaltedRoot[] {
  return halted.filter((h) => dirs.some((d) => d.name === h.root));
}

/** One sentence for a halted root; the reason comes from E and is escaped. */
export function haltSentence(h: HaltedRoot): string {
  return `E has halted root ${h.root} since ${new Date(h.since).toISOString()}: ${escapeControl(h.reason)}; nothing new is recorded for it on E until that is resolved there`;
}

/** The error a one-shot run ends with when E has halted one of its roots, or undefined when none is. */
export function haltedExit(halted: readonly HaltedRoot[], dirs: readonly NamedDir[]): ExitError | undefined {
  const mine = haltsOf(halted, dirs);
  if (mine.length === 0) return undefined;
  const more = mine.length > 1 ? ` (and ${mine.length - 1} more root(s))` : "";
  return new ExitError(ExitCode.Halted, `${haltSentence(mine[0]!)}${more}; R has everything E recorded before`);
}

/**
 * Tells a live client's user when E halts or resumes one of its roots: once per change, across reconnects, so a
 * reconnect does not repeat a warning already shown.
 */
export class HaltReporter {
  private readonly shown = new Map<string, string>();
  private readonly dirs: readonly NamedDir[];
  private readonly logger: Logger;
  private readonly events: ClientEvents;

  constructor(dirs: readonly NamedDir[], logger: Logger, events: ClientEvents = NO_EVENTS) {
    this.dirs = dirs;
    this.logger = logger;
    this.events = events;
  }

  update(halted: readonly HaltedRoot[]): void {
    const now = haltsOf(halted, this.dirs);
    for (const h of now) {
      if (this.shown.get(h.root) === h.reason) continue;
      this.shown.set(h.root, h.reason);
      this.logger.warn(haltSentence(h));
      this.events({ event: "halted", root: h.root, reason: h.reason, since: h.since });
    }
    for (const root of [...this.shown.keys()]) {
      if (now.some((h) => h.root === root)) continue;
      this.shown.delete(root);
      this.logger.info(`E resumed recording root ${root}`);
      this.events({ event: "resumed", root });
    }
  }
}

import type { Logger, NamedDir } from "@zync/node";
import type { ClientEvents } from "../events.js";
import type { ClientStore } from "../store/clientStore.js";
import type { HookRule } from "./hookRule.js";
import { hookOutcome, HookRunner } from "./hookRunner.js";

/**
 * The hook runner of one client run: commands run in the roots' folders, their output goes to the client's
 * (stdout and stderr, or both to stderr when stdout carries `--json` events), and each run is recorded in the
 * history `zync-client log` shows. Undefined when no `--on-change` rule was given.
 */
export function clientHooks(rules: readonly HookRule[], dirs: readonly NamedDir[], store: ClientStore, logger: Logger, events: ClientEvents, json: boolean): HookRunner | undefined {
  if (rules.length === 0) return undefined;
  return new HookRunner(rules, {
    roots: new Map(dirs.map((d) => [d.name, d.abs])),
    logger,
    events,
    output: (stream, line) => void (stream === "stdout" && !json ? process.stdout : process.stderr).write(`${line}\n`),
    record: (r) =>
      store.recordHook({
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        files: r.files,
        detail: `${r.rule} in ${r.root}`,
        error: r.status === 0 ? undefined : hookOutcome(r),
      }),
  });
}

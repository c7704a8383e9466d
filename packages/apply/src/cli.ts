import { resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { completeWithoutDefaultCommand, parseDirs, runCli, UsageError, withZyncDefaults } from "@zync/node";
import { applySession } from "./commands/applySession.js";
import { historyCommand } from "./commands/historyCommand.js";
import { listSessions } from "./commands/listSessions.js";
import { rejectSession } from "./commands/rejectSession.js";
import { showSession } from "./commands/showSession.js";
import { undoSession } from "./commands/undoSession.js";
import { inquirerPrompter } from "./prompter.js";
import { createPaint } from "./render/colors.js";
import { openReview, type ReviewContext } from "./reviewContext.js";
import { takeOption } from "./commands/takeOption.js";
import { terminalPager } from "./render/pager.js";
import { terminalEditor } from "./editor.js";

const out = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number | void> {
  let result: Promise<number | void> = Promise.resolve();
  const withContext = (argv: { db: string; dirs?: string[] }, run: (ctx: ReviewContext) => Promise<number | void> | number | void): void => {
    const ctx = openReview(resolve(argv.db), argv.dirs ? parseDirs(argv.dirs) : undefined);
    result = Promise.resolve()
      .then(() => run(ctx))
      .finally(() => ctx.close());
  };
  await withZyncDefaults(yargs(hideBin(process.argv)))
    .scriptName("zync-apply")
    .usage("$0 <command> [options]\n\nReviews and applies the changes R pushed with 'zync-client --update-upstream'. Runs on E.")
    .option("db", { type: "string", default: "sync.db", describe: "the daemon's database" })
    .option("dirs", { type: "string", array: true, describe: "roots as name:/path (default: those the daemon recorded)" })
    .command("list", "list sessions waiting for review", (y) =>
      y.option("all", { type: "boolean", default: false, describe: "also list applied, rejected, aborted and receiving sessions" }).option("json", { type: "boolean", default: false, describe: "print JSON" }),
      (argv) => withContext(argv, (ctx) => listSessions(ctx, { all: argv.all, json: argv.json }, out)),
    )
    .command("show <session>", "list a session's changes and their conflicts", (y) =>
      y.positional("session", { type: "string", demandOption: true }).option("json", { type: "boolean", default: false, describe: "print JSON" }),
      (argv) => withContext(argv, (ctx) => showSession(ctx, argv.session, { json: argv.json }, out, createPaint())),
    )
    .command("apply <session>", "review a session change by change and apply it", (y) =>
      y
        .positional("session", { type: "string", demandOption: true })
        .option("non-interactive", { type: "boolean", default: false, describe: "apply without asking; refused while conflicts exist" })
        .option("force", { type: "boolean", default: false, describe: "with --non-interactive, apply R's versions over conflicts (E's copies are kept)" })
        .option("merge", { type: "boolean", default: false, describe: "apply without asking; conflicts whose edits do not overlap are merged, the rest stay pending (exit 3)" })
        .option("take", { type: "string", choices: ["r", "e"] as const, describe: "apply without asking; the conflicts --paths names take R's (r) or keep E's (e) version, the rest stay pending (exit 3)" })
        .option("paths", { type: "string", array: true, describe: "with --take: globs of root-relative paths (a glob naming a folder names all under it)" }),
      (argv) => {
        const take = takeOption(argv.take, argv.paths, { force: argv.force, merge: argv.merge });
        if (argv.force && !argv["non-interactive"]) throw new UsageError("--force goes with --non-interactive; interactively every conflict is asked about");
        if (argv.force && argv.merge) throw new UsageError("--merge and --force exclude each other: --merge never applies R's version over an overlapping edit");
        withContext(argv, (ctx) =>
          applySession(
            ctx,
            argv.session,
            { force: argv.force, nonInteractive: argv["non-interactive"] || argv.merge || take !== undefined, merge: argv.merge, ...(take ? { take } : {}) },
            { out, prompter: inquirerPrompter(), paint: createPaint(), page: terminalPager(out), editor: terminalEditor() },
          ),
        );
      },
    )
    .command("reject <session>", "discard a session without touching E", (y) => y.positional("session", { type: "string", demandOption: true }), (argv) =>
      withContext(argv, (ctx) => rejectSession(ctx, argv.session, out)),
    )
    .command("undo <session>", "put back E's versions of the paths a session's apply changed, where E still holds what it wrote", (y) => y.positional("session", { type: "string", demandOption: true }), (argv) =>
      withContext(argv, (ctx) => undoSession(ctx, argv.session, out)),
    )
    .command("history", "list applied sessions and what each changed on E", (y) => y.option("json", { type: "boolean", default: false, describe: "print JSON" }), (argv) =>
      withContext(argv, (ctx) => historyCommand(ctx, { json: argv.json }, out)),
    )
    .example([
      ["$0 --db ~/.zync/sync.db list", "sessions waiting for review"],
      ["$0 --db ~/.zync/sync.db apply 3", "review session 3 with diffs and apply it"],
      ["$0 --db ~/.zync/sync.db apply 3 --non-interactive", "apply a conflict-free session in a script"],
      ["$0 --db ~/.zync/sync.db apply 3 --merge", "apply in a script, merging conflicts whose edits do not overlap"],
      ["$0 --db ~/.zync/sync.db apply 3 --take r --paths 'gen/**'", "take R's version of every conflict under gen/"],
      ["$0 --db ~/.zync/sync.db undo 3", "put back E's versions of what session 3 changed"],
    ])
    .completion("completion", "print a bash/zsh completion script (zync-apply completion >> ~/.bashrc)", completeWithoutDefaultCommand)
    .demandCommand(1, "name a command: list, show, apply, reject, undo or history")
    .parseAsync();
  return result;
}

runCli("zync-apply", main);

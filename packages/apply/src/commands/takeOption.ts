import { UsageError } from "@zync/node";
import type { TakeOption } from "./bulkTake.js";

/** `--take` and `--paths` from the command line, checked: both or neither, and not beside --force or --merge. */
export function takeOption(side: "r" | "e" | undefined, globs: readonly string[] | undefined, other: { force: boolean; merge: boolean }): TakeOption | undefined {
  if (side === undefined) {
    if (globs !== undefined) throw new UsageError("--paths goes with --take r|e: it names the conflicts that take R's or keep E's version");
    return undefined;
  }
  if (globs === undefined || globs.length === 0) throw new UsageError("--take needs --paths GLOB naming the conflicts it settles (--paths '**' names all of them)");
  if (globs.some((g) => g.trim() === "")) throw new UsageError("--paths was given an empty glob");
  if (other.force) throw new UsageError("--take and --force exclude each other: --force already takes R's version of every conflict");
  if (other.merge) throw new UsageError("--take and --merge exclude each other; run --merge first, then --take for the conflicts it leaves pending");
  return { side, globs };
}

import { z } from "zod";
import { RootNameSchema, WirePathSchema } from "../entry.js";
import { MAX_PATH_LENGTH } from "../paths.js";

/**
 * Feature "explain" (docs/protocol.md section 14.9): the client asks why E does or does not serve some paths of a
 * root, and the daemon answers with the rule that decided each, as `zync-daemon check-ignore` would. Nothing is read
 * from E's disk for the answer but ignore files, so it says nothing about whether a path exists on E.
 */

/** Largest number of paths one CHECK_IGNORE may ask about. */
export const MAX_CHECK_IGNORE_PATHS = 256;

/** Longest pattern text an answer carries (a longer one is cut). */
export const MAX_IGNORE_PATTERN_CHARS = 1024;

const id = z.number().int().nonnegative().max(0xffffffff);

/** Client to daemon: which of these paths of `root` does E serve, and which rule decided each? Answered with IGNORE_CHECKED. */
export const CheckIgnoreSchema = z.strictObject({
  type: z.literal("CHECK_IGNORE"),
  id,
  root: RootNameSchema,
  /**
   * The paths, relative to the root. Each must pass the wire path rules (as for GET_FILE); the daemon refuses the
   * whole request with BAD_PATH when one does not.
   */
  paths: z
    .array(
      z.strictObject({
        path: z.string().max(MAX_PATH_LENGTH),
        /** True to judge the path as a folder (the client says what the path is on its side). */
        dir: z.boolean(),
      }),
    )
    .min(1)
    .max(MAX_CHECK_IGNORE_PATHS),
});

/**
 * Where the deciding pattern is. `file`: an ignore file E serves (R has it too), named by `file`, its pattern text
 * given. `unserved-file`: an ignore file in the root that E does not serve (itself ignored), named but without its
 * text. `above-root`: a `.gitignore` above the root in E's work tree. `info-exclude`: the repository's
 * `.git/info/exclude`. `excludes-file`: the user's `core.excludesFile` on E. `command-line`: the daemon's own
 * patterns (`--ignore`, its database files). `built-in`: zync's fixed list, its pattern text given.
 */
export const IgnoreSourceSchema = z.enum(["file", "unserved-file", "above-root", "info-exclude", "excludes-file", "command-line", "built-in"]);

/** The pattern that decided a path, as far as E tells it. */
export const WireIgnoreRuleSchema = z.strictObject({
  source: IgnoreSourceSchema,
  /** The ignore file, relative to the root: only for `file` and `unserved-file`. */
  file: WirePathSchema.optional(),
  /** Line of the pattern in its source, from 1 (0 for a built-in rule with no line). */
  line: z.number().int().nonnegative(),
  /** The pattern as written: only for `file` and `built-in`. */
  pattern: z.string().max(MAX_IGNORE_PATTERN_CHARS).optional(),
  /** True when the pattern starts with `!` (it re-includes the path). */
  negative: z.boolean(),
});

/** E's verdict on one path. */
export const CheckedPathSchema = z.strictObject({
  /** The path as asked. */
  path: WirePathSchema,
  /** True when E serves the path (or would, once it exists). */
  synced: z.boolean(),
  /**
   * What decided: `none` (no pattern matches), `tracked` (git tracks it, or files in the folder, whatever the
   * patterns say), `rule` (see `rule`), `nested-repository` (with --git-tracked-only, a folder holding a repository
   * of its own, whose files git does not list).
   */
  decidedBy: z.enum(["none", "tracked", "rule", "nested-repository"]),
  rule: WireIgnoreRuleSchema.optional(),
  /** True when only E's --git-tracked-only leaves the path out (git ignores it although zync's files re-include it). */
  gitTrackedOnly: z.boolean().optional(),
});

/** Daemon to client: the answer to CHECK_IGNORE, one result per path in the order asked. */
export const IgnoreCheckedSchema = z.strictObject({
  type: z.literal("IGNORE_CHECKED"),
  id,
  root: RootNameSchema,
  results: z.array(CheckedPathSchema).max(MAX_CHECK_IGNORE_PATHS),
});

export type CheckIgnore = z.infer<typeof CheckIgnoreSchema>;
export type WireIgnoreRule = z.infer<typeof WireIgnoreRuleSchema>;
export type CheckedPath = z.infer<typeof CheckedPathSchema>;
export type IgnoreChecked = z.infer<typeof IgnoreCheckedSchema>;

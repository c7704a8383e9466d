import { GitIgnoreTree, type GitIgnoreTreeOptions, type IgnoreVerdict } from "./gitIgnoreRules.js";

/** Name of the gitignore-syntax file read at the top of each root. */
export const IGNORE_FILE = ".zyncignore";

/** Folder at the top of a root where zync keeps files it is still writing. */
export const TEMP_DIR = ".zync-tmp";

/**
 * Name prefix of the barrier cookies `wait` writes at the top of a root on E: never synced in either direction,
 * but seen by the daemon's watcher, which is how a wait knows every save made before it has been recorded.
 */
export const COOKIE_PREFIX = ".zync-cookie-";

/** True for a barrier cookie: a file at the top of a root named with {@link COOKIE_PREFIX}. */
export function isCookie(rel: string): boolean {
  return rel.startsWith(COOKIE_PREFIX) && !rel.includes("/");
}

/** Infix of the copies zync keeps beside a path when it resolves a conflict. */
export const CONFLICT_INFIX = ".zync-conflict-";

/** Patterns ignored on both sides unless a `.zyncignore` re-includes them with `!`. */
export const DEFAULT_IGNORES: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  "node_modules/",
  `${TEMP_DIR}/`,
  `*${CONFLICT_INFIX}*`,
  "*.swp",
  "*.swo",
  "*.swx",
  "*~",
  ".#*",
  // A leading '#' starts a comment in gitignore syntax, so Emacs' "#name#" files need the escape.
  "\\#*#",
  "4913",
  ".DS_Store",
];

/**
 * True when a path is a `.git` folder or lies inside one, at any depth. Such paths are never synced in either
 * direction: a repository's hooks and config run code and hold credentials. Compared without regard to case, so
 * `.GIT` on a case-insensitive disk is the same folder. No `!` pattern can re-include them.
 */
export function isInsideGitDir(rel: string): boolean {
  return rel.split("/").some((segment) => segment.toLowerCase() === ".git");
}

/** The pattern lines of a gitignore-syntax text that have an effect (no blanks, no comments). */
function patternLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/(?<!\\)\s+$/, ""))
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/**
 * True when replacing an ignore file's content `before` with `after` (undefined: no file) could make something
 * that was ignored be synced: a pattern line is removed, or a `!` line (which re-includes) is added. Adding plain
 * patterns only ever ignores more, so that is the one change that is certainly not a widening.
 */
export function mayWidenIgnores(before: string | undefined, after: string | undefined): boolean {
  const old = patternLines(before ?? "");
  const now = patternLines(after ?? "");
  const kept = new Set(now);
  if (old.some((l) => !kept.has(l))) return true;
  const had = new Set(old);
  return now.some((l) => !had.has(l) && l.startsWith("!"));
}

/** Decides which relative paths of one root are left out of sync. */
export type IgnoreRules = {
  /** True when the path (a directory when `isDir`) is ignored. */
  ignores(rel: string, isDir: boolean): boolean;
  /**
   * Reads the root's ignore files again, at every level (after one changed), and asks git again what it tracks;
   * resolves once the new rules are in force (until then the old ones answer).
   */
  reload(): Promise<void>;
};

/** Rules that can also say which pattern in which file decided a path. */
export type ExplainedIgnoreRules = IgnoreRules & {
  /** The verdict for a path and the rule that decided it (none: no pattern matched). */
  explain(rel: string, isDir: boolean): IgnoreVerdict;
  /** Files outside the root whose change calls for {@link IgnoreRules.reload} (git's index and exclude files). */
  gitFiles(): string[];
};

/**
 * Builds the rules for a root: zync's defaults, then (in a git work tree) the user's `core.excludesFile` and
 * `.git/info/exclude`, then the `.gitignore` and `.zyncignore` files of every folder (see {@link GitIgnoreTree}),
 * then `extra` (from `--ignore`); later wins. With `gitIgnoreFilesAnywhere`, `.gitignore` files count outside a git
 * work tree too (for what R offers upstream: E would refuse what they leave out). A root's temp folder, `.git` folders and barrier cookies are
 * always left out.
 */
export function loadIgnoreRules(
  rootAbs: string,
  extra: readonly string[] = [],
  opts: Pick<GitIgnoreTreeOptions, "gitIgnoreFilesAnywhere" | "trackedOnly" | "runGit" | "onGitProblem"> = {},
): ExplainedIgnoreRules {
  const tree = new GitIgnoreTree(rootAbs, { defaults: DEFAULT_IGNORES, extra, zyncFile: IGNORE_FILE, ...opts });
  const fixed = (rel: string): boolean => rel === TEMP_DIR || rel.startsWith(`${TEMP_DIR}/`) || isInsideGitDir(rel) || isCookie(rel);
  return {
    reload() {
      return tree.reload();
    },
    ignores(rel, isDir) {
      // The temp folder is ours and a repository's .git is never synced, whatever an ignore file says.
      return fixed(rel) || tree.ignores(rel, isDir);
    },
    gitFiles() {
      return tree.gitFiles();
    },
    explain(rel, isDir) {
      if (fixed(rel)) return { ignored: true, rule: { file: "built-in", line: 0, pattern: isInsideGitDir(rel) ? ".git" : rel, negative: false, kind: "built-in" } };
      return tree.explain(rel, isDir);
    },
  };
}

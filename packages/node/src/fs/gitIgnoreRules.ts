import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import ignore, { type Ignore } from "ignore";
import { gitOutput, gitOutputSync, type GitRunner } from "./gitCommand.js";

/** Name of git's per-folder ignore file. */
export const GIT_IGNORE_FILE = ".gitignore";

/**
 * Where a pattern comes from: a folder's `.gitignore` or `.zyncignore`, the repository's `info/exclude`, the user's
 * `core.excludesFile`, the daemon's command line (`--ignore`, its own database files), or zync's built-in list.
 */
export type IgnoreSourceKind = "folder" | "info-exclude" | "excludes-file" | "command-line" | "built-in";

/** The pattern that decided a path: which file (absolute, or a label such as "built-in"), which line, which text. */
export type IgnoreRule = {
  file: string;
  line: number;
  pattern: string;
  negative: boolean;
  kind?: IgnoreSourceKind;
  /** For a folder's ignore file inside the root: its path relative to the root. */
  inRoot?: string;
};

/**
 * Why a path is (not) synced. `rule` is undefined when no pattern matched it; `tracked` when git tracks it.
 * `trackedOnly` is set when only `--git-tracked-only` leaves it out: git ignores it although zync's own files
 * re-include it (the rule is git's), or it lies in a nested repository, whose files git does not list.
 */
export type IgnoreVerdict = { ignored: boolean; rule?: IgnoreRule; tracked?: boolean; trackedOnly?: "git-ignores-it" | "nested-repository" };

/** One file of patterns, all relative to the folder `base` (relative to the top of the tree, "" for the top). */
type Source = {
  file: string;
  base: string;
  ig: Ignore;
  flipped?: Ignore;
  lines: { pattern: string; line: number }[];
  ignoreCase: boolean;
  kind: IgnoreSourceKind;
  /** True for git's own files (`.gitignore`, info/exclude, the excludes file), which alone decide under --git-tracked-only. */
  git: boolean;
};

type RuleResult = { ignored: boolean; unignored: boolean; rule?: { pattern: string; mark?: string } };
type RuleList = { test(path: string, mode: string): RuleResult };

/**
 * The last pattern of one file that matches the path itself, without what the package infers from a matching
 * parent folder: the parent folders are judged here, across all files, in git's order.
 */
function ownMatch(ig: Ignore, path: string): RuleResult {
  const rules = (ig as unknown as { _rules?: RuleList })._rules;
  if (rules === undefined || typeof rules.test !== "function") throw new Error("the installed ignore package does not have the rule list this code reads");
  return rules.test(path, "regex");
}

/** Reads a gitignore-syntax file as one {@link Source}, or undefined when there is none. */
function readSource(file: string, base: string, ignoreCase: boolean, kind: IgnoreSourceKind, isGit: boolean): Source | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return sourceOf(file, base, text.split(/\r?\n/), ignoreCase, kind, isGit);
}

function sourceOf(file: string, base: string, texts: readonly string[], ignoreCase: boolean, kind: IgnoreSourceKind, isGit = false): Source {
  const lines = texts.map((pattern, i) => ({ pattern, line: i + 1 }));
  const ig = ignore({ ignorecase: ignoreCase }).add(lines.map((l) => ({ pattern: l.pattern, mark: String(l.line) })));
  return { file, base, ig, lines, ignoreCase, kind, git: isGit };
}

/** The same patterns with `!` toggled, so the package names the negation that matched (it reports only exclusions). */
function flippedOf(s: Source): Ignore {
  s.flipped ??= ignore({ ignorecase: s.ignoreCase }).add(
    s.lines
      .filter((l) => l.pattern.replace(/(?<!\\)\s+$/, "") !== "" && !l.pattern.startsWith("#"))
      .map((l) => ({ pattern: l.pattern.startsWith("!") ? l.pattern.slice(1) : `!${l.pattern}`, mark: String(l.line) })),
  );
  return s.flipped;
}

/** What git says about the work tree holding a folder, or undefined when it is in none (or git is missing). */
export type GitTree = {
  top: string;
  excludeFile: string;
  userExcludes: string | undefined;
  indexFile: string;
  /** git's `core.ignorecase`: patterns of git's own files then match without regard to case. */
  ignoreCase: boolean;
};

const TOP_QUERY = ["rev-parse", "--show-toplevel"];
const PATHS_QUERY = ["rev-parse", "--git-path", "info/exclude", "--git-path", "index"];
const EXCLUDES_QUERY = ["config", "--get", "core.excludesFile"];
const IGNORE_CASE_QUERY = ["config", "--bool", "--get", "core.ignorecase"];
const TRACKED_QUERY = ["ls-files", "-z", "--cached"];

function gitTreeOf(top: string, paths: string | undefined, configured: string | undefined, ignoreCase: string | undefined): GitTree {
  const [excludeRel, indexRel] = (paths ?? "").split("\n").map((l) => l.trim());
  const excludes = configured?.trim();
  let userExcludes: string | undefined;
  if (excludes !== undefined && excludes !== "") {
    userExcludes = excludes.startsWith("~/") ? join(homedir(), excludes.slice(2)) : resolve(top, excludes);
  } else {
    const xdg = process.env.XDG_CONFIG_HOME;
    userExcludes = xdg !== undefined && xdg !== "" && isAbsolute(xdg) ? join(xdg, "git", "ignore") : join(homedir(), ".config", "git", "ignore");
  }
  return {
    top,
    excludeFile: resolve(top, excludeRel || ".git/info/exclude"),
    userExcludes,
    indexFile: resolve(top, indexRel || ".git/index"),
    ignoreCase: ignoreCase?.trim() === "true",
  };
}

export function findGitTree(dirAbs: string): GitTree | undefined {
  const top = gitOutputSync(dirAbs, TOP_QUERY)?.trim();
  if (top === undefined || top === "") return undefined;
  return gitTreeOf(top, gitOutputSync(top, PATHS_QUERY), gitOutputSync(top, EXCLUDES_QUERY), gitOutputSync(top, IGNORE_CASE_QUERY));
}

/** {@link findGitTree} without blocking the event loop. */
async function findGitTreeWith(run: GitRunner, dirAbs: string): Promise<GitTree | undefined> {
  const top = (await run(dirAbs, TOP_QUERY))?.trim();
  if (top === undefined || top === "") return undefined;
  const [paths, configured, ignoreCase] = await Promise.all([run(top, PATHS_QUERY), run(top, EXCLUDES_QUERY), run(top, IGNORE_CASE_QUERY)]);
  return gitTreeOf(top, paths, configured, ignoreCase);
}

function pathsOf(lsFiles: string): Set<string> {
  return new Set(lsFiles.split("\0").filter((p) => p !== ""));
}

/** What git says about the root at one moment: its work tree and the files it tracks (undefined: git could not say). */
type GitSnapshot = { tree: GitTree | undefined; tracked: Set<string> | undefined };

/** Folders whose ignore files and verdicts are kept in memory before they are all dropped (and read again). */
const MAX_CACHED_FOLDERS = 100_000;

/** Options of {@link GitIgnoreTree}. */
export type GitIgnoreTreeOptions = {
  /** Patterns of zync's own, lowest in precedence (relative to the root). */
  defaults: readonly string[];
  /** Patterns from the command line, highest in precedence (relative to the root). */
  extra: readonly string[];
  /** Name of zync's per-folder ignore file. */
  zyncFile: string;
  /** Whether tracked files are synced whatever the patterns say (as git does). Default true. */
  honourTracked?: boolean;
  /**
   * Read `.gitignore` files also when the root is in no git work tree (R's copy of a repository has its
   * `.gitignore` files but no `.git`): without info/exclude, the user's excludes file or tracked files.
   */
  gitIgnoreFilesAnywhere?: boolean;
  /**
   * `--git-tracked-only`: git alone decides the most that is synced, the files `git ls-files --cached --others
   * --exclude-standard` lists. zync's own files and patterns can still leave more out, but a `!` in them no longer
   * brings back what git ignores, and the files of a nested repository are left out.
   */
  trackedOnly?: boolean;
  /** Runs git during {@link GitIgnoreTree.reload} (a child process, bounded output, unless a test injects another). */
  runGit?: GitRunner;
  /** Told when a reload could not ask git what it tracks (the previous answer is kept). */
  onGitProblem?: (message: string) => void;
};

/**
 * The ignore rules of one root, evaluated the way git evaluates them: a path is judged by the patterns of every
 * folder from the top of the tree down to its parent (deeper files win; at one folder `.zyncignore` wins over
 * `.gitignore`), then `.git/info/exclude`, then the user's `core.excludesFile`, then zync's defaults; the
 * command line's patterns win over all. A folder that is excluded takes everything below it along, whatever a
 * deeper `!` says. When the root is in a git work tree, the files git tracks are synced even when a pattern
 * matches them, and so are the folders that hold them. git's own files match without regard to case when the
 * repository sets `core.ignorecase`.
 */
export class GitIgnoreTree {
  private gitTree: GitTree | undefined;
  private prefix = "";
  private readonly perDir = new Map<string, Source[]>();
  private readonly dirVerdicts = new Map<string, IgnoreVerdict>();
  private readonly gitDirVerdicts = new Map<string, IgnoreVerdict>();
  private readonly chains = new Map<string, readonly Source[]>();
  private top: Source[] = [];
  private bottom: Source[] = [];
  private tracked = new Set<string>();
  private trackedDirs = new Set<string>();
  /** The reload in progress, and whether another was asked for meanwhile (it starts when this one ends). */
  private reloading: Promise<void> | undefined;
  private again: Promise<void> | undefined;

  private readonly rootAbs: string;
  private readonly opts: GitIgnoreTreeOptions;

  constructor(rootAbs: string, opts: GitIgnoreTreeOptions) {
    this.rootAbs = rootAbs;
    this.opts = opts;
    const tree = findGitTree(rootAbs);
    const ls = tree === undefined || opts.honourTracked === false ? undefined : gitOutputSync(tree.top, TRACKED_QUERY);
    this.adopt({ tree, tracked: ls === undefined ? undefined : pathsOf(ls) });
  }

  /** The work tree the root lies in, if any. */
  get repository(): GitTree | undefined {
    return this.gitTree;
  }

  /**
   * Files outside the root's folders whose change changes the rules: git's index (what it tracks), the
   * repository's info/exclude and the user's excludes file. None outside a git work tree.
   */
  gitFiles(): string[] {
    const t = this.gitTree;
    if (t === undefined) return [];
    return [t.indexFile, t.excludeFile, ...(t.userExcludes === undefined ? [] : [t.userExcludes])];
  }

  /**
   * Reads every ignore file again (they are read lazily per folder) and asks git again what it tracks, without
   * blocking the event loop: until git has answered, the rules in force keep answering (what they had read and
   * what git tracked), then the new ones replace them in one step, caches included. When git cannot list what it
   * tracks (it failed, or said more than the output bound), the files it tracked before stay tracked, so a
   * failed reload never drops a tracked file. Calls made while one runs are served by one more reload after it.
   */
  reload(): Promise<void> {
    if (this.reloading === undefined) {
      this.reloading = this.readGit().finally(() => (this.reloading = undefined));
      return this.reloading;
    }
    this.again ??= this.reloading.then(() => {
      this.again = undefined;
      return this.reload();
    });
    return this.again;
  }

  private async readGit(): Promise<void> {
    const run = this.opts.runGit ?? gitOutput;
    const tree = await findGitTreeWith(run, this.rootAbs);
    let tracked: Set<string> | undefined;
    if (tree !== undefined && this.opts.honourTracked !== false) {
      const ls = await run(tree.top, TRACKED_QUERY);
      if (ls !== undefined) tracked = pathsOf(ls);
      else this.opts.onGitProblem?.(`git ls-files failed in ${tree.top}; the files git tracked before are still synced`);
    }
    this.adopt({ tree, tracked });
  }

  /** Replaces the rules with those of a new answer from git (synchronously, so no question sees a mixture). */
  private adopt(snap: GitSnapshot): void {
    const sameTree = snap.tree !== undefined && this.gitTree !== undefined && snap.tree.top === this.gitTree.top;
    this.gitTree = snap.tree;
    this.prefix = this.gitTree === undefined ? "" : relative(this.gitTree.top, resolve(this.rootAbs));
    if (this.prefix.startsWith("..")) this.prefix = "";
    this.forget();
    this.top = this.opts.extra.length > 0 ? [sourceOf("command line", this.prefix, this.opts.extra, true, "command-line")] : [];
    const bottom: Source[] = [];
    const gitCase = this.gitTree?.ignoreCase ?? false;
    if (this.gitTree !== undefined) {
      const ex = readSource(this.gitTree.excludeFile, "", gitCase, "info-exclude", true);
      if (ex !== undefined) bottom.push(ex);
      const user = this.gitTree.userExcludes === undefined ? undefined : readSource(this.gitTree.userExcludes, "", gitCase, "excludes-file", true);
      if (user !== undefined) bottom.push(user);
    }
    bottom.push(sourceOf("built-in", this.prefix, this.opts.defaults, true, "built-in"));
    this.bottom = bottom;
    if (this.gitTree === undefined || this.opts.honourTracked === false) this.tracked = new Set();
    else if (snap.tracked !== undefined) this.tracked = snap.tracked;
    else if (!sameTree) this.tracked = new Set();
    this.trackedDirs = new Set();
    for (const p of this.tracked) {
      for (let i = p.indexOf("/"); i >= 0; i = p.indexOf("/", i + 1)) this.trackedDirs.add(p.slice(0, i));
    }
  }

  /** The verdict for a path relative to the root (a folder when `isDir`). */
  explain(rel: string, isDir: boolean): IgnoreVerdict {
    const tp = this.prefix === "" ? rel : rel === "" ? this.prefix : `${this.prefix}/${rel}`;
    if (this.gitTree !== undefined && (isDir ? this.trackedDirs.has(tp) : this.tracked.has(tp))) return { ignored: false, tracked: true };
    const v = this.judge(tp, isDir, false);
    if (v.ignored || this.opts.trackedOnly !== true || this.gitTree === undefined) return v;
    const byGit = this.judge(tp, isDir, true);
    return byGit.ignored ? byGit : v;
  }

  /**
   * The verdict of the folders above a path (inside the root: an excluded one settles it), then of the path; by
   * git's files alone when `gitOnly`, where a nested repository also leaves its folder out.
   */
  private judge(tp: string, isDir: boolean, gitOnly: boolean): IgnoreVerdict {
    const cache = gitOnly ? this.gitDirVerdicts : this.dirVerdicts;
    const start = this.prefix === "" ? 0 : this.prefix.length + 1;
    for (let cut = tp.indexOf("/", start); cut >= 0; cut = tp.indexOf("/", cut + 1)) {
      const tdir = tp.slice(0, cut);
      if (cache.size > MAX_CACHED_FOLDERS) cache.clear();
      let v = cache.get(tdir);
      if (v === undefined) {
        v = this.decideOne(tdir, true, gitOnly);
        cache.set(tdir, v);
      }
      if (v.ignored) return v;
    }
    return this.decideOne(tp, isDir, gitOnly);
  }

  private decideOne(tp: string, isDir: boolean, gitOnly: boolean): IgnoreVerdict {
    if (!gitOnly) return this.decide(tp, isDir);
    const v = this.decide(tp, isDir, true);
    if (v.ignored) return { ...v, trackedOnly: "git-ignores-it" };
    // git lists an embedded repository (or a submodule) as one entry, never the files in it.
    if (isDir && tp !== "" && existsSync(join(this.gitTree!.top, tp, ".git"))) return { ignored: true, trackedOnly: "nested-repository" };
    return v;
  }

  ignores(rel: string, isDir: boolean): boolean {
    return this.explain(rel, isDir).ignored;
  }

  /** The verdict of the patterns (git's alone when `gitOnly`) for one path (relative to the top of the tree), parents not considered. */
  private decide(tp: string, isDir: boolean, gitOnly = false): IgnoreVerdict {
    const cut = tp.lastIndexOf("/");
    for (const list of [this.top, this.chainOf(cut < 0 ? "" : tp.slice(0, cut)), this.bottom]) {
      for (const s of list) {
        if (gitOnly && !s.git) continue;
        const rel = s.base === "" ? tp : tp.slice(s.base.length + 1);
        if (rel === "") continue;
        const probe = isDir ? `${rel}/` : rel;
        const r = ownMatch(s.ig, probe);
        if (!r.ignored && !r.unignored) continue;
        const matched = r.ignored ? r.rule : ownMatch(flippedOf(s), probe).rule;
        const line = Number(matched?.mark ?? 0);
        const pattern = s.lines.find((l) => l.line === line)?.pattern ?? matched?.pattern ?? "";
        const inRoot = s.kind === "folder" ? this.rootRelOf(s) : undefined;
        return { ignored: r.ignored, rule: { file: s.file, line, pattern, negative: r.unignored, kind: s.kind, ...(inRoot === undefined ? {} : { inRoot }) } };
      }
    }
    return { ignored: false };
  }

  /**
   * The folder ignore files that apply to the entries of a folder, deepest first: its own, then its parent's
   * list (the same array when it has none, so a deep path costs one look per folder, once).
   */
  private chainOf(dir: string): readonly Source[] {
    const hit = this.chains.get(dir);
    if (hit !== undefined) return hit;
    if (this.chains.size > MAX_CACHED_FOLDERS) this.forget();
    const missing: string[] = [];
    let chain: readonly Source[] = [];
    for (let d = dir; ; ) {
      missing.push(d);
      if (d === "") break;
      const cut = d.lastIndexOf("/");
      const parent = cut < 0 ? "" : d.slice(0, cut);
      const known = this.chains.get(parent);
      if (known !== undefined) {
        chain = known;
        break;
      }
      d = parent;
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      const d = missing[i]!;
      const own = this.folderSources(d);
      if (own.length > 0) chain = [...own, ...chain];
      this.chains.set(d, chain);
    }
    return chain;
  }

  /** A folder ignore file's path relative to the root, or undefined when it lies above the root. */
  private rootRelOf(s: Source): string | undefined {
    const name = s.file.slice(s.file.lastIndexOf("/") + 1);
    if (this.prefix === "") return s.base === "" ? name : `${s.base}/${name}`;
    if (s.base === this.prefix) return name;
    return s.base.startsWith(`${this.prefix}/`) ? `${s.base.slice(this.prefix.length + 1)}/${name}` : undefined;
  }

  /** Drops what was read and decided per folder (it is read again on demand). */
  private forget(): void {
    this.perDir.clear();
    this.chains.clear();
    this.dirVerdicts.clear();
    this.gitDirVerdicts.clear();
  }

  /** The ignore files of one folder (relative to the top of the tree), `.zyncignore` first. */
  private folderSources(dir: string): Source[] {
    let found = this.perDir.get(dir);
    if (found !== undefined) return found;
    found = [];
    const inRoot = this.prefix === "" || dir === this.prefix || dir.startsWith(`${this.prefix}/`);
    const base = this.gitTree?.top ?? this.rootAbs;
    const abs = dir === "" ? base : join(base, dir);
    if (inRoot) {
      const z = readSource(join(abs, this.opts.zyncFile), dir, true, "folder", false);
      if (z !== undefined) found.push(z);
    }
    if (this.gitTree !== undefined || this.opts.gitIgnoreFilesAnywhere === true) {
      const g = readSource(join(abs, GIT_IGNORE_FILE), dir, this.gitTree?.ignoreCase ?? false, "folder", true);
      if (g !== undefined) found.push(g);
    }
    this.perDir.set(dir, found);
    return found;
  }
}

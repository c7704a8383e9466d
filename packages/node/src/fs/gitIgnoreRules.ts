import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import ignore, { type Ignore } from "ignore";

/** Name of git's per-folder ignore file. */
export const GIT_IGNORE_FILE = ".gitignore";

/** The pattern that decided a path: which file (absolute, or a label such as "built-in"), which line, which text. */
export type IgnoreRule = { file: string; line: number; pattern: string; negative: boolean };

/** Why a path is (not) synced. `rule` is undefined when no pattern matched it; `tracked` when git tracks it. */
export type IgnoreVerdict = { ignored: boolean; rule?: IgnoreRule; tracked?: boolean };

/** One file of patterns, all relative to the folder `base` (relative to the top of the tree, "" for the top). */
type Source = { file: string; base: string; ig: Ignore; flipped?: Ignore; lines: { pattern: string; line: number }[]; ignoreCase: boolean };

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
function readSource(file: string, base: string, ignoreCase: boolean): Source | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return sourceOf(file, base, text.split(/\r?\n/), ignoreCase);
}

function sourceOf(file: string, base: string, texts: readonly string[], ignoreCase: boolean): Source {
  const lines = texts.map((pattern, i) => ({ pattern, line: i + 1 }));
  const ig = ignore({ ignorecase: ignoreCase }).add(lines.map((l) => ({ pattern: l.pattern, mark: String(l.line) })));
  return { file, base, ig, lines, ignoreCase };
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

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 256 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

/** What git says about the work tree holding a folder, or undefined when it is in none (or git is missing). */
export type GitTree = { top: string; excludeFile: string; userExcludes: string | undefined; indexFile: string };

export function findGitTree(dirAbs: string): GitTree | undefined {
  const top = git(dirAbs, ["rev-parse", "--show-toplevel"])?.trim();
  if (top === undefined || top === "") return undefined;
  const excludeRel = git(top, ["rev-parse", "--git-path", "info/exclude"])?.trim() ?? ".git/info/exclude";
  const indexRel = git(top, ["rev-parse", "--git-path", "index"])?.trim() ?? ".git/index";
  const configured = git(top, ["config", "--get", "core.excludesFile"])?.trim();
  let userExcludes: string | undefined;
  if (configured !== undefined && configured !== "") {
    userExcludes = configured.startsWith("~/") ? join(homedir(), configured.slice(2)) : resolve(top, configured);
  } else {
    const xdg = process.env.XDG_CONFIG_HOME;
    userExcludes = xdg !== undefined && xdg !== "" && isAbsolute(xdg) ? join(xdg, "git", "ignore") : join(homedir(), ".config", "git", "ignore");
  }
  return { top, excludeFile: resolve(top, excludeRel), userExcludes, indexFile: resolve(top, indexRel) };
}

/** The paths git tracks in a work tree (relative to its top), or an empty set when git cannot say. */
function trackedPaths(top: string): Set<string> {
  const out = git(top, ["ls-files", "-z", "--cached"]);
  return new Set(out === undefined ? [] : out.split("\0").filter((p) => p !== ""));
}

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
};

/**
 * The ignore rules of one root, evaluated the way git evaluates them: a path is judged by the patterns of every
 * folder from the top of the tree down to its parent (deeper files win; at one folder `.zyncignore` wins over
 * `.gitignore`), then `.git/info/exclude`, then the user's `core.excludesFile`, then zync's defaults; the
 * command line's patterns win over all. A folder that is excluded takes everything below it along, whatever a
 * deeper `!` says. When the root is in a git work tree, the files git tracks are synced even when a pattern
 * matches them, and so are the folders that hold them.
 */
export class GitIgnoreTree {
  private gitTree: GitTree | undefined;
  private prefix = "";
  private readonly perDir = new Map<string, Source[]>();
  private readonly dirVerdicts = new Map<string, IgnoreVerdict>();
  private readonly chains = new Map<string, readonly Source[]>();
  private top: Source[] = [];
  private bottom: Source[] = [];
  private tracked = new Set<string>();
  private trackedDirs = new Set<string>();

  private readonly rootAbs: string;
  private readonly opts: GitIgnoreTreeOptions;

  constructor(rootAbs: string, opts: GitIgnoreTreeOptions) {
    this.rootAbs = rootAbs;
    this.opts = opts;
    this.reload();
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

  /** Reads every ignore file again (they are read lazily per folder) and asks git again what it tracks. */
  reload(): void {
    this.gitTree = findGitTree(this.rootAbs);
    this.prefix = this.gitTree === undefined ? "" : relative(this.gitTree.top, resolve(this.rootAbs));
    if (this.prefix.startsWith("..")) this.prefix = "";
    this.forget();
    this.top = this.opts.extra.length > 0 ? [sourceOf("command line", this.prefix, this.opts.extra, true)] : [];
    const bottom: Source[] = [];
    if (this.gitTree !== undefined) {
      const ex = readSource(this.gitTree.excludeFile, "", false);
      if (ex !== undefined) bottom.push(ex);
      const user = this.gitTree.userExcludes === undefined ? undefined : readSource(this.gitTree.userExcludes, "", false);
      if (user !== undefined) bottom.push(user);
    }
    bottom.push(sourceOf("built-in", this.prefix, this.opts.defaults, true));
    this.bottom = bottom;
    this.tracked = this.gitTree !== undefined && this.opts.honourTracked !== false ? trackedPaths(this.gitTree.top) : new Set();
    this.trackedDirs = new Set();
    for (const p of this.tracked) {
      for (let i = p.indexOf("/"); i >= 0; i = p.indexOf("/", i + 1)) this.trackedDirs.add(p.slice(0, i));
    }
  }

  /** The verdict for a path relative to the root (a folder when `isDir`). */
  explain(rel: string, isDir: boolean): IgnoreVerdict {
    const tp = this.prefix === "" ? rel : rel === "" ? this.prefix : `${this.prefix}/${rel}`;
    if (this.gitTree !== undefined && (isDir ? this.trackedDirs.has(tp) : this.tracked.has(tp))) return { ignored: false, tracked: true };
    // Folders above the path, inside the root: an excluded one settles it.
    const start = this.prefix === "" ? 0 : this.prefix.length + 1;
    for (let cut = tp.indexOf("/", start); cut >= 0; cut = tp.indexOf("/", cut + 1)) {
      const tdir = tp.slice(0, cut);
      if (this.dirVerdicts.size > MAX_CACHED_FOLDERS) this.dirVerdicts.clear();
      let v = this.dirVerdicts.get(tdir);
      if (v === undefined) {
        v = this.decide(tdir, true);
        this.dirVerdicts.set(tdir, v);
      }
      if (v.ignored) return v;
    }
    return this.decide(tp, isDir);
  }

  ignores(rel: string, isDir: boolean): boolean {
    return this.explain(rel, isDir).ignored;
  }

  /** The verdict of the patterns for one path (relative to the top of the tree), parents not considered. */
  private decide(tp: string, isDir: boolean): IgnoreVerdict {
    const cut = tp.lastIndexOf("/");
    for (const list of [this.top, this.chainOf(cut < 0 ? "" : tp.slice(0, cut)), this.bottom]) {
      for (const s of list) {
        const rel = s.base === "" ? tp : tp.slice(s.base.length + 1);
        if (rel === "") continue;
        const probe = isDir ? `${rel}/` : rel;
        const r = ownMatch(s.ig, probe);
        if (!r.ignored && !r.unignored) continue;
        const matched = r.ignored ? r.rule : ownMatch(flippedOf(s), probe).rule;
        const line = Number(matched?.mark ?? 0);
        const pattern = s.lines.find((l) => l.line === line)?.pattern ?? matched?.pattern ?? "";
        return { ignored: r.ignored, rule: { file: s.file, line, pattern, negative: r.unignored } };
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

  /** Drops what was read and decided per folder (it is read again on demand). */
  private forget(): void {
    this.perDir.clear();
    this.chains.clear();
    this.dirVerdicts.clear();
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
      const z = readSource(join(abs, this.opts.zyncFile), dir, true);
      if (z !== undefined) found.push(z);
    }
    if (this.gitTree !== undefined || this.opts.gitIgnoreFilesAnywhere === true) {
      const g = readSource(join(abs, GIT_IGNORE_FILE), dir, false);
      if (g !== undefined) found.push(g);
    }
    this.perDir.set(dir, found);
    return found;
  }
}

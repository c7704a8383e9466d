import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Makes sure git is here, installing it with apt-get when it is missing and this process may. */
export function ensureGit(): void {
  const have = (): boolean => existsSync("/usr/bin/git");
  if (have()) return;
  if (!existsSync("/usr/bin/apt-get")) throw new Error("git is missing and there is no apt-get to install it");
  execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "git"], { stdio: "ignore", timeout: 300_000 });
  if (!have()) throw new Error("git is still missing after apt-get install");
}

/** Runs git in a folder with a config of its own (no user or system config leaks in) and returns its output. */
export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    input,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: cwd, XDG_CONFIG_HOME: join(cwd, ".xdg") },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Writes files (relative path -> content) under a folder, making their folders. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}

/**
 * A git work tree with nested .gitignore files, negations, folder, anchored and `**` patterns, an info/exclude
 * and a core.excludesFile, plus files that each of them decides.
 */
export function ignoreRichRepo(root: string, excludesFile: string): void {
  git(root, ["init", "-q", "-b", "main"]);
  git(root, ["config", "core.excludesFile", excludesFile]);
  writeFileSync(excludesFile, "*.user-excluded\n!important.user-excluded\n");
  writeTree(root, {
    ".git/info/exclude": "# local only\n*.local\n",
    ".gitignore": "*.log\n!keep.log\nbuild/\n/root-only\n**/gen/**\ndocs/**/*.tmp\n*.o\n!/sub/special.o\n",
    "sub/.gitignore": "!*.log\nnested-only\n/anchored-here\nskip/\n!build/\n",
    "sub/deep/.gitignore": "*.txt\n!wanted.txt\n",
    "a.log": "x",
    "keep.log": "x",
    "sub/b.log": "x",
    "sub/deep/c.log": "x",
    "build/out.js": "x",
    "sub/build/out.js": "x",
    "root-only": "x",
    "sub/root-only": "x",
    "x/gen/y/z.c": "x",
    "gen/top.c": "x",
    "docs/a/b/c.tmp": "x",
    "docs/c.tmp": "x",
    "main.o": "x",
    "sub/special.o": "x",
    "sub/other.o": "x",
    "sub/nested-only": "x",
    "nested-only": "x",
    "sub/anchored-here": "x",
    "sub/deep/anchored-here": "x",
    "sub/skip/in.c": "x",
    "sub/skip/keep.log": "x",
    "sub/deep/note.txt": "x",
    "sub/deep/wanted.txt": "x",
    "note.txt": "x",
    "a.local": "x",
    "sub/b.local": "x",
    "c.user-excluded": "x",
    "important.user-excluded": "x",
    "src/main.c": "x",
    "build/keep.log": "x",
  });
}

/** Every file and folder under a root (not .git), relative, with whether it is a folder. */
export function allPaths(root: string, rel = ""): { rel: string; isDir: boolean }[] {
  const out: { rel: string; isDir: boolean }[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = rel === "" ? name : `${rel}/${name}`;
    if (name === ".git") continue;
    const isDir = statSync(join(root, p)).isDirectory();
    out.push({ rel: p, isDir });
    if (isDir) out.push(...allPaths(root, p));
  }
  return out;
}

/** Whether a path is ignored, and the file (absolute) and line of the pattern that matched it, if any. */
export type Answer = { ignored: boolean; file?: string; line?: number };

/** What `git check-ignore -v -n --no-index` says about each path (relative to the work tree's top). */
export function gitAnswers(root: string, paths: string[]): Map<string, Answer> {
  const out = git(root, ["check-ignore", "-v", "-n", "--no-index", "--stdin", "-z"], paths.join("\0") + "\0");
  const fields = out.split("\0");
  const answers = new Map<string, Answer>();
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, line, pattern, path] = fields.slice(i, i + 4) as [string, string, string, string];
    answers.set(path, source === "" ? { ignored: false } : { ignored: !pattern.startsWith("!"), file: resolve(root, source), line: Number(line) });
  }
  return answers;
}

/** The paths of a work tree git ignores, by `git check-ignore`. */
export function gitIgnored(root: string): Set<string> {
  const answers = gitAnswers(
    root,
    allPaths(root).map((p) => p.rel),
  );
  return new Set([...answers].filter(([, a]) => a.ignored).map(([p]) => p));
}

/**
 * The files git itself counts as the work tree's: tracked ones and untracked ones it does not ignore, by
 * `git ls-files --cached --others --exclude-standard` (relative to the top). An embedded repository, which git
 * lists as one `name/` entry and never by its files, is left out.
 */
export function gitListedFiles(root: string): Set<string> {
  const out = git(root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  return new Set(out.split("\0").filter((p) => p !== "" && !p.endsWith("/")));
}

/**
 * A work tree where git and zync's own files disagree: `.zyncignore` files and an extra pattern re-include what
 * git ignores, a tracked file matches a pattern, an embedded repository holds files, and info/exclude leaves a file
 * out. Returns the extra (command-line) patterns to load the rules with. Nothing in it matches zync's built-in list.
 */
export function trackedOnlyRepo(root: string): string[] {
  git(root, ["init", "-q", "-b", "main"]);
  writeTree(root, {
    ".gitignore": "build/\n*.log\n/out\n",
    ".zyncignore": "!build/\n!*.log\n",
    "sub/.gitignore": "*.tmp\n",
    "sub/.zyncignore": "!keep.tmp\n",
    ".git/info/exclude": "*.secret\n",
    "build/x.js": "x",
    "build/tracked.js": "x",
    "a.log": "x",
    "src/main.c": "x",
    "sub/a.tmp": "x",
    "sub/keep.tmp": "x",
    "sub/ok.c": "x",
    out: "x",
    "z.secret": "x",
    "vendor/lib/lib.c": "x",
  });
  git(join(root, "vendor/lib"), ["init", "-q", "-b", "main"]);
  git(root, ["add", "-f", "build/tracked.js", "out", "src/main.c"]);
  return ["!*.secret"];
}

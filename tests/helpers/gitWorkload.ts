import { execFile, execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import type { Rng } from "./workload.js";

/** The ignore rules the repository commits on its first commit and never changes (so no branch switch changes them). */
export const GIT_WORKLOAD_IGNORE = "*.log\nout/\n";

/** True when `rel` is one of the repository's own files or a path its .gitignore leaves out. */
export function ignoredByWorkload(rel: string): boolean {
  return rel === ".git" || rel.startsWith(".git/") || rel === "out" || rel.startsWith("out/") || rel.endsWith(".log");
}

const DIRS = ["src", "lib", "docs", "src/core", "src/ui", "naïve dir", "日本語", "x y/z"];
const STEMS = ["a", "main", "util", "café", "emoji 🎉", "two  spaces", "Ωmega", "read me"];
const EXTS = [".ts", ".txt", ".md", ".json", ""];

/** Git run the same way every time: no user or system config, fixed identity, no pager, no editor. */
function gitEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: join(root, ".git"),
    XDG_CONFIG_HOME: join(root, ".git", "xdg"),
    GIT_AUTHOR_NAME: "churn",
    GIT_AUTHOR_EMAIL: "churn@example.com",
    GIT_COMMITTER_NAME: "churn",
    GIT_COMMITTER_EMAIL: "churn@example.com",
    GIT_EDITOR: "true",
    GIT_SEQUENCE_EDITOR: "true",
    GIT_PAGER: "cat",
  };
}

/** What one git command did. */
export type GitResult = { ok: boolean; out: string };

/** What a stopped git operation waits for on E. */
export type GitStop = "rebase" | "merge" | undefined;

/**
 * A seeded random workload on a real git repository: edits, creates and deletes in the work tree, files git
 * ignores, commits, branches, checkouts between branches that differ in many files, stashes, resets, rebases and
 * merges (some of them stopped by a conflict, which is later aborted or resolved and continued). Its model of the
 * tree is the disk itself, read again before each choice, so git may change anything; every choice comes from the
 * PRNG, so the same seed replays the same operations (git's own timing aside).
 */
export class GitWorkload {
  /** Every operation so far, one line each (the tail goes into failure messages). */
  readonly ops: string[] = [];
  readonly root: string;
  readonly rng: Rng;
  /** The rebase or merge git stopped in for a conflict, until it is resolved or aborted. */
  stopped: GitStop;
  private counter = 0;
  private branchCount = 0;

  /** Whether files become folders of the same name (committed), so checkouts change paths' types. */
  readonly typeChanges: boolean;

  constructor(root: string, rng: Rng, opts: { typeChanges?: boolean } = {}) {
    this.root = root;
    this.rng = rng;
    this.typeChanges = opts.typeChanges ?? true;
  }

  /** Runs git synchronously; a failure is returned, not thrown (git refuses things a random workload asks). */
  git(args: readonly string[]): GitResult {
    try {
      return { ok: true, out: execFileSync("git", args, { cwd: this.root, env: gitEnv(this.root), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
  }

  /** Runs git in the background, so a process can be killed while it works. */
  gitAsync(args: readonly string[]): Promise<GitResult> {
    return new Promise((resolve) => {
      execFile("git", args, { cwd: this.root, env: gitEnv(this.root), encoding: "utf8" }, (err, stdout, stderr) => resolve({ ok: err === null, out: `${stdout}${stderr}` }));
    });
  }

  private log(line: string): void {
    this.ops.push(`#${this.ops.length + 1} ${line}`);
  }

  /** The last `n` operations, one per line. */
  tail(n = 30): string {
    return this.ops.slice(-n).join("\n");
  }

  /** The last operation naming `rel`, for explaining a difference. */
  lastOpOn(rel: string): string | undefined {
    for (let i = this.ops.length - 1; i >= 0; i--) if (this.ops[i]!.includes(JSON.stringify(rel))) return this.ops[i];
    return undefined;
  }

  /** Each difference line (`path: ...`) followed by the last operation naming that path. */
  explain(diff: readonly string[]): string[] {
    return diff.map((line) => {
      const op = this.lastOpOn(line.slice(0, line.indexOf(": E=")));
      return op === undefined ? line : `${line}  [last: ${op}]`;
    });
  }

  private abs(rel: string): string {
    return join(this.root, rel);
  }

  /** Regular files of the work tree git does not ignore (its .gitignore aside), sorted. */
  files(): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
      for (const name of readdirSync(rel === "" ? this.root : this.abs(rel)).sort()) {
        const r = rel === "" ? name : `${rel}/${name}`;
        if (ignoredByWorkload(r) || r === ".gitignore") continue;
        const st = lstatSync(this.abs(r));
        if (st.isDirectory()) walk(r);
        else if (st.isFile()) out.push(r);
      }
    };
    walk("");
    return out;
  }

  /** Local branches, sorted. */
  branches(): string[] {
    return this.git(["for-each-ref", "--format=%(refname:short)", "refs/heads"])
      .out.split("\n")
      .filter((b) => b !== "")
      .sort();
  }

  /** The branch checked out, or undefined on a detached HEAD. */
  current(): string | undefined {
    const r = this.git(["symbolic-ref", "-q", "--short", "HEAD"]);
    return r.ok ? r.out.trim() : undefined;
  }

  /** Content no earlier write produced. */
  private content(tag: string): string {
    this.counter++;
    const line = `${this.rng.seed}:${this.counter}:${tag}:${this.rng.int(1e9)}\n`;
    return line.repeat(this.rng.chance(0.1) ? this.rng.between(200, 2000) : this.rng.between(1, 20));
  }

  private write(rel: string, tag = rel): void {
    mkdirSync(posix.dirname(this.abs(rel)), { recursive: true });
    writeFileSync(this.abs(rel), this.content(tag));
  }

  private freshPath(): string {
    this.counter++;
    const dir = this.rng.chance(0.15) ? "" : this.rng.pick(DIRS);
    const name = `${this.rng.pick(STEMS)} ${this.counter}${this.rng.pick(EXTS)}`;
    return dir === "" ? name : `${dir}/${name}`;
  }

  /** Overwrites a file of the work tree. */
  edit(rel: string): void {
    this.write(rel);
    this.log(`edit ${JSON.stringify(rel)}`);
  }

  /** A repository on branch main with `n` files committed, and branches that differ from it in many of them. */
  init(n: number): void {
    this.git(["init", "-q", "-b", "main"]);
    this.git(["config", "gc.auto", "0"]);
    this.git(["config", "commit.gpgsign", "false"]);
    writeFileSync(this.abs(".gitignore"), GIT_WORKLOAD_IGNORE);
    for (let i = 0; i < n; i++) this.write(this.freshPath());
    this.write("out/build.o");
    this.write("src/debug.log");
    this.commitAll("initial");
    for (const name of ["feature", "topic"]) {
      this.git(["checkout", "-q", "-b", name]);
      this.sweep();
      this.git(["checkout", "-q", "main"]);
    }
    this.log(`init ${n} files on main, branches feature and topic`);
  }

  /** `git add -A && git commit`; false when there was nothing to commit. */
  private commitAll(message: string): boolean {
    this.git(["add", "-A"]);
    return this.git(["commit", "-q", "-m", message]).ok;
  }

  /** Changes, adds and deletes many files at once and commits them: branches grow apart. */
  private sweep(): void {
    const files = this.files();
    let changed = 0;
    for (const f of files) {
      const roll = this.rng.next();
      if (roll < 0.3) {
        this.write(f);
        changed++;
      } else if (roll < 0.35) {
        unlinkSync(this.abs(f));
        changed++;
      }
    }
    for (let i = this.rng.between(5, 25); i > 0; i--) this.write(this.freshPath());
    this.commitAll(`sweep on ${this.current() ?? "HEAD"}`);
    this.log(`sweep: ${changed} files changed or deleted and more added, committed on ${this.current() ?? "detached HEAD"}`);
  }

  /** Files git reports as unmerged. */
  private unmerged(): string[] {
    return this.git(["diff", "--name-only", "--diff-filter=U", "-z"])
      .out.split("\0")
      .filter((p) => p !== "");
  }

  private stopKind(): GitStop {
    const dir = join(this.root, ".git");
    if (existsSync(join(dir, "rebase-merge")) || existsSync(join(dir, "rebase-apply"))) return "rebase";
    if (existsSync(join(dir, "MERGE_HEAD"))) return "merge";
    return undefined;
  }

  /** Ends a stopped rebase or merge: aborted, or every conflict resolved with new content and continued. */
  finish(abort = this.rng.chance(0.4)): void {
    for (let round = 0; this.stopped !== undefined; round++) {
      if (round >= 25) throw new Error(`git stays stopped in a ${this.stopped} after ${round} attempts to end it:\n${this.git(["status"]).out}`);
      if (abort || round >= 20) {
        const r = this.git([this.stopped, "--abort"]);
        // An abort refuses when the work tree changed files the operation staged: the person throws it all away.
        if (!r.ok) this.git(["reset", "-q", "--hard"]);
        if (!r.ok && this.stopped === "rebase") this.git(["rebase", "--quit"]);
        this.log(`${this.stopped} --abort${r.ok ? "" : " refused; reset --hard"}`);
      } else {
        const conflicts = this.unmerged();
        for (const p of conflicts) {
          if (this.rng.chance(0.8) || !existsSync(this.abs(p))) this.write(p, `resolved ${p}`);
          else rmSync(this.abs(p), { recursive: true, force: true });
        }
        this.git(["add", "-A"]);
        const r = this.stopped === "rebase" ? this.git(["rebase", "--continue"]) : this.git(["commit", "-q", "--no-edit"]);
        // A rebase whose resolved commit came out empty is skipped, as a person would.
        if (!r.ok && this.stopped === "rebase" && this.stopKind() === "rebase" && this.unmerged().length === 0) this.git(["rebase", "--skip"]);
        this.log(`${this.stopped}: resolved ${conflicts.map((c) => JSON.stringify(c)).join(", ")} and continued`);
      }
      this.stopped = this.stopKind();
    }
    if (this.current() === undefined) this.git(["checkout", "-q", "main"]);
  }

  /** Commits everything, so a rebase or merge may start. */
  private clean(): void {
    if (this.git(["status", "--porcelain"]).out !== "") this.commitAll("work in progress");
  }

  private otherBranch(): string | undefined {
    const others = this.branches().filter((b) => b !== this.current());
    return others.length === 0 ? undefined : this.rng.pick(others);
  }

  /** The branch whose tree differs most from HEAD's (so a switch to it is a big batch). */
  farthestBranch(): string | undefined {
    let best: { branch: string; files: number } | undefined;
    for (const b of this.branches().filter((x) => x !== this.current())) {
      const files = this.git(["diff", "--name-only", "-z", "HEAD", b]).out.split("\0").filter((p) => p !== "").length;
      if (best === undefined || files > best.files) best = { branch: b, files };
    }
    return best?.branch;
  }

  /** Switches branch the way a person does: committing or stashing first, or carrying the changes over. */
  checkout(to = this.otherBranch()): void {
    if (to === undefined) return;
    this.beforeCheckout();
    this.afterCheckout(to, this.git(["checkout", "-q", to]));
  }

  /**
   * The same switch with git running in the background (after everything is committed, so the switch changes
   * files); `started` is called once it runs, so a process can be killed while git works.
   */
  async checkoutInBackground(started: () => Promise<void>): Promise<void> {
    const to = this.otherBranch();
    if (to === undefined) return;
    this.clean();
    const running = this.gitAsync(["checkout", "-q", to]);
    await started();
    this.afterCheckout(to, await running);
  }

  private beforeCheckout(): void {
    const roll = this.rng.next();
    if (roll < 0.4) this.clean();
    else if (roll < 0.7) this.git(["stash", "push", "-q", "-u"]);
  }

  private afterCheckout(to: string, attempt: GitResult): void {
    if (!attempt.ok) {
      this.git(["stash", "push", "-q", "-u"]);
      const again = this.git(["checkout", "-q", to]);
      if (!again.ok) this.git(["checkout", "-q", "-f", to]);
    }
    this.log(`checkout ${to}${attempt.ok ? "" : " (after a stash)"}`);
  }

  /**
   * Sets up a rebase that stops for a conflict: a new branch and the current one both change the same file;
   * the new branch is then rebased onto the current one. Leaves git stopped in the rebase.
   */
  conflictingRebase(): void {
    this.clean();
    const base = this.current();
    const files = this.files();
    if (base === undefined || files.length === 0) return;
    const shared = this.rng.pick(files);
    const branch = `topic-${++this.branchCount}`;
    this.git(["checkout", "-q", "-b", branch]);
    this.write(shared, `on ${branch}`);
    this.write(this.freshPath());
    this.commitAll(`${branch} changes ${shared}`);
    this.git(["checkout", "-q", base]);
    this.write(shared, `on ${base}`);
    this.commitAll(`${base} changes ${shared}`);
    this.git(["checkout", "-q", branch]);
    this.git(["rebase", "-q", base]);
    this.stopped = this.stopKind();
    this.log(`rebase ${branch} onto ${base}, both changed ${JSON.stringify(shared)}: ${this.stopped === undefined ? "no stop" : "stopped for the conflict"}`);
  }

  /** One random operation on E. While git is stopped in a rebase or merge, only work tree edits or its end. */
  step(): void {
    if (this.stopped !== undefined) {
      const files = this.files();
      if (this.rng.chance(0.35) || files.length === 0) this.finish();
      else this.edit(this.rng.pick(files));
      return;
    }
    const files = this.files();
    const roll = this.rng.int(100);
    if (roll < 24 && files.length > 0) this.edit(this.rng.pick(files));
    else if (roll < 34) {
      const p = this.freshPath();
      this.write(p);
      this.log(`create ${JSON.stringify(p)}`);
    } else if (roll < 40 && files.length > 0) {
      const p = this.rng.pick(files);
      unlinkSync(this.abs(p));
      this.log(`delete ${JSON.stringify(p)}`);
    } else if (roll < 43) {
      const p = this.rng.chance(0.5) ? `out/${this.rng.pick(STEMS)}.o` : `${this.rng.pick(DIRS)}/trace.log`;
      this.write(p);
      this.log(`write ignored ${JSON.stringify(p)}`);
    } else if (roll < 53) {
      this.log(`commit: ${this.commitAll("commit") ? "made" : "nothing to commit"}`);
    } else if (roll < 56) this.sweep();
    else if (roll < 60) {
      const b = `b${++this.branchCount}`;
      this.git(["checkout", "-q", "-b", b]);
      this.log(`checkout -b ${b}`);
    } else if (roll < 71) this.checkout();
    else if (roll < 75) {
      const r = this.git(["stash", "push", "-q", ...(this.rng.chance(0.5) ? ["-u"] : [])]);
      this.log(`stash push: ${r.ok ? "done" : "refused"}`);
    } else if (roll < 78) {
      const r = this.git(["stash", "pop", "-q"]);
      // A pop that conflicts leaves the stash and unmerged files: the person throws the attempt away.
      if (!r.ok && this.unmerged().length > 0) this.git(["reset", "-q", "--hard"]);
      this.log(`stash pop: ${r.ok ? "done" : "failed"}`);
    } else if (roll < 80) {
      this.git(["reset", "-q", "--hard", this.rng.chance(0.5) ? "HEAD" : "HEAD~1"]);
      this.log("reset --hard");
    } else if (roll < 86) {
      const other = this.otherBranch();
      if (other === undefined) return;
      this.clean();
      const r = this.git(["rebase", "-q", other]);
      this.stopped = this.stopKind();
      this.log(`rebase onto ${other}: ${r.ok ? "done" : this.stopped === undefined ? "refused" : "stopped for a conflict"}`);
      if (!r.ok && this.stopped === undefined && this.current() === undefined) this.git(["checkout", "-q", "main"]);
    } else if (roll < 92) {
      const other = this.otherBranch();
      if (other === undefined) return;
      this.clean();
      const r = this.git(["merge", "-q", "--no-edit", other]);
      this.stopped = this.stopKind();
      this.log(`merge ${other}: ${r.ok ? "done" : this.stopped === undefined ? "refused" : "stopped for a conflict"}`);
    } else if (roll < 95) this.conflictingRebase();
    else if (files.length > 0 && !this.typeChanges) this.edit(this.rng.pick(files));
    else if (files.length > 0) {
      // A file becomes a folder of the same name, committed: checkouts across this commit change the path's type.
      const p = this.rng.pick(files);
      unlinkSync(this.abs(p));
      this.write(`${p}/inside.txt`);
      this.commitAll(`${p} becomes a folder`);
      this.log(`file to folder ${JSON.stringify(p)}, committed`);
    }
  }
}

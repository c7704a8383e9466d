/**
 * Reading what HEAD names in a git repository from its files: the branch (or a detached HEAD) and the commit.
 * Only reads; git's own lock files are never taken, so the daemon can look while git works.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

/** The folders of a work tree's repository: its own git folder, and the one its refs live in (linked work trees). */
export type GitDirs = { gitDir: string; commonDir: string };

/** What HEAD names: the branch (null when detached) and the commit (null before the first commit). */
export type GitHead = { branch: string | null; commit: string | null };

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The git folders of the work tree holding `dirAbs`, or undefined when it is in none (or git is missing). */
export function findGitDirs(dirAbs: string): GitDirs | undefined {
  try {
    const out = execFileSync("git", ["rev-parse", "--is-inside-work-tree", "--absolute-git-dir", "--git-common-dir"], {
      cwd: dirAbs,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const [inside, gitDir, common] = out.split("\n").map((l) => l.trim());
    if (inside !== "true" || gitDir === undefined || gitDir === "" || common === undefined || common === "") return undefined;
    return { gitDir, commonDir: isAbsolute(common) ? common : resolve(dirAbs, common) };
  } catch {
    return undefined;
  }
}

/** What the text of a HEAD file says: `ref: refs/heads/x` (a branch), a commit id (detached), or nothing usable. */
export function parseHead(text: string): { ref: string } | { commit: string } | undefined {
  const t = text.trim();
  if (t.startsWith("ref:")) {
    const ref = t.slice(4).trim();
    return ref === "" ? undefined : { ref };
  }
  return COMMIT.test(t) ? { commit: t } : undefined;
}

/** The commit a ref names in the text of `packed-refs`, or undefined. */
export function packedRef(packed: string, ref: string): string | undefined {
  for (const line of packed.split("\n")) {
    const [id, name] = line.trim().split(" ");
    if (name === ref && id !== undefined && COMMIT.test(id)) return id;
  }
  return undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The commit `ref` names, following symbolic refs a few levels, or null when it names none yet. */
function resolveRef(dirs: GitDirs, ref: string, depth = 0): string | null {
  if (depth > 5) return null;
  // HEAD-like refs live in the work tree's own folder, the rest in the common one.
  const own = ref.startsWith("refs/") ? undefined : read(join(dirs.gitDir, ref));
  const text = own ?? read(join(dirs.commonDir, ref));
  if (text !== undefined) {
    const parsed = parseHead(text);
    if (parsed === undefined) return null;
    return "commit" in parsed ? parsed.commit : resolveRef(dirs, parsed.ref, depth + 1);
  }
  return packedRef(read(join(dirs.commonDir, "packed-refs")) ?? "", ref) ?? null;
}

/** What HEAD names now, or undefined when HEAD cannot be read. */
export function readHead(dirs: GitDirs): GitHead | undefined {
  const text = read(join(dirs.gitDir, "HEAD"));
  if (text === undefined) return undefined;
  const parsed = parseHead(text);
  if (parsed === undefined) return undefined;
  if ("commit" in parsed) return { branch: null, commit: parsed.commit };
  const branch = parsed.ref.startsWith("refs/heads/") ? parsed.ref.slice("refs/heads/".length) : null;
  return { branch: branch === "" ? null : branch, commit: resolveRef(dirs, parsed.ref) };
}

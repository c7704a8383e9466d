import { lstatSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { MAX_CHECK_IGNORE_PATHS, type CheckedPath, type WireIgnoreRule } from "@zync/protocol";
import { escapeControl as e, ignoreReason, loadIgnoreRules, UsageError, type NamedDir } from "@zync/node";
import { ClientStore } from "../store/clientStore.js";
import { connect } from "../syncSession.js";

/** E's side of one path: what the daemon said, or why it could not say. */
export type DaemonSide = { synced: boolean; reason: string; answer?: CheckedPath } | { unknown: string };

/** What `zync-client check-ignore` says about one path. */
export type ClientIgnoreCheck = {
  /** The path as given. */
  path: string;
  root: string;
  /** The path relative to its root. */
  rel: string;
  /** E's verdict: does the daemon serve it? */
  e: DaemonSide;
  /** R's own verdict: would an upstream push offer it? (R's `.gitignore` and `.zyncignore` files, and --ignore.) */
  r: { offered: boolean; reason: string };
};

/** Everything the command needs: where the daemon is and how to reach it, R's roots, and where paths start. */
export type CheckIgnoreOptions = {
  dbPath: string;
  url: string;
  token: string;
  dirs: readonly NamedDir[];
  ignore: readonly string[];
  cwd: string;
};

/** The root (deepest, when roots nest) that holds an absolute path, with the path relative to it. */
function rootOf(dirs: readonly NamedDir[], abs: string): { dir: NamedDir; rel: string } | undefined {
  let best: { dir: NamedDir; rel: string } | undefined;
  for (const d of dirs) {
    const rel = relative(d.abs, abs);
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    if (best === undefined || d.abs.length > best.dir.abs.length) best = { dir: d, rel: rel.split(sep).join("/") };
  }
  return best;
}

/** The phrase for a rule as E told it: the pattern's text only where R may read it, else what kind of file held it. */
function ruleText(rule: WireIgnoreRule): string {
  const bang = rule.negative ? " (a ! pattern)" : "";
  switch (rule.source) {
    case "file":
      return `${rule.file ?? "?"}:${rule.line}:${rule.pattern ?? ""}`;
    case "built-in":
      return `built-in:${rule.line}:${rule.pattern ?? ""}`;
    case "unserved-file":
      return `E's ${rule.file ?? "ignore file"} (not synced) line ${rule.line}${bang}`;
    case "above-root":
      return `E's .gitignore above the root, line ${rule.line}${bang}`;
    case "info-exclude":
      return `E's .git/info/exclude line ${rule.line}${bang}`;
    case "excludes-file":
      return `E's core.excludesFile line ${rule.line}${bang}`;
    case "command-line":
      return `E's own patterns (--ignore, its database files), number ${rule.line}${bang}`;
  }
}

/** E's answer for one path as one phrase. */
export function daemonReason(a: CheckedPath, isDir: boolean): string {
  switch (a.decidedBy) {
    case "none":
      return "no rule matches it";
    case "tracked":
      return isDir ? "git tracks files in it" : "git tracks it";
    case "nested-repository":
      return "a repository of its own, whose files git does not list (--git-tracked-only)";
    case "rule": {
      const text = a.rule === undefined ? "a rule" : ruleText(a.rule);
      return a.gitTrackedOnly === true ? `git ignores it (--git-tracked-only): ${text}` : text;
    }
  }
}

/**
 * For each path (relative to `cwd` or absolute, inside one of R's roots): whether E serves it and which rule in
 * which file decided it (asked over the wire, feature `explain`), and whether R would offer it upstream. A path
 * outside every root is a usage error; a daemon that cannot explain still leaves R's side answered.
 */
export async function checkIgnoreOnClient(paths: readonly string[], opts: CheckIgnoreOptions): Promise<ClientIgnoreCheck[]> {
  if (paths.length === 0) throw new UsageError("name at least one path to check");
  const located = paths.map((p) => {
    const abs = resolve(opts.cwd, p);
    const at = rootOf(opts.dirs, abs);
    if (at === undefined) throw new UsageError(`${e(p)} is not inside a root of this client (${opts.dirs.map((d) => `${e(d.name)}:${e(d.abs)}`).join(", ")})`);
    let isDir = p.endsWith("/");
    try {
      isDir = lstatSync(abs).isDirectory();
    } catch {
      // not on R: a trailing slash says folder
    }
    return { p, ...at, isDir };
  });
  const rulesOf = new Map<string, ReturnType<typeof loadIgnoreRules>>();
  const rSide = located.map(({ dir, rel, isDir }) => {
    if (rel === "") return { offered: true, reason: "it is the root" };
    let rules = rulesOf.get(dir.name);
    if (rules === undefined) {
      rules = loadIgnoreRules(dir.abs, opts.ignore, { gitIgnoreFilesAnywhere: true });
      rulesOf.set(dir.name, rules);
    }
    const v = rules.explain(rel, isDir);
    return { offered: !v.ignored, reason: ignoreReason(v, dir.abs, isDir) };
  });
  const eSide = await askDaemon(
    located.map(({ dir, rel, isDir }) => ({ root: dir.name, rel, isDir })),
    opts,
  );
  return located.map(({ p, dir, rel }, i) => ({ path: p, root: dir.name, rel, e: eSide[i]!, r: rSide[i]! }));
}

/** E's side of every path, asked in requests of at most {@link MAX_CHECK_IGNORE_PATHS} paths per root. */
async function askDaemon(asks: readonly { root: string; rel: string; isDir: boolean }[], opts: CheckIgnoreOptions): Promise<DaemonSide[]> {
  const sides: DaemonSide[] = asks.map(() => ({ unknown: "not asked" }));
  const store = new ClientStore(opts.dbPath);
  let conn;
  try {
    conn = await connect(store, opts.url, opts.token, false);
  } catch (err) {
    store.close();
    const why = `E could not be asked: ${err instanceof Error ? err.message : String(err)}`;
    return sides.map(() => ({ unknown: why }));
  }
  try {
    if (!conn.features.has("explain")) {
      return sides.map(() => ({ unknown: "E's side cannot be explained by this daemon: the connection did not agree feature explain (the daemon may be older than this client, or ZYNC_FEATURES leaves it out)" }));
    }
    const byRoot = new Map<string, number[]>();
    asks.forEach((a, i) => {
      if (a.rel === "") sides[i] = { synced: true, reason: "it is the root" };
      else if (!conn.welcome.roots.includes(a.root)) sides[i] = { unknown: `the daemon does not serve a root named ${a.root}` };
      else byRoot.set(a.root, [...(byRoot.get(a.root) ?? []), i]);
    });
    for (const [root, all] of byRoot) {
      for (let at = 0; at < all.length; at += MAX_CHECK_IGNORE_PATHS) {
        const part = all.slice(at, at + MAX_CHECK_IGNORE_PATHS);
        try {
          const answer = await conn.request({ type: "CHECK_IGNORE", root, paths: part.map((i) => ({ path: asks[i]!.rel, dir: asks[i]!.isDir })) });
          if (answer.root !== root || answer.results.length !== part.length || answer.results.some((r, k) => r.path !== asks[part[k]!]!.rel)) {
            throw new Error("the daemon answered CHECK_IGNORE with results for other paths");
          }
          answer.results.forEach((r, k) => (sides[part[k]!] = { synced: r.synced, reason: daemonReason(r, asks[part[k]!]!.isDir), answer: r }));
        } catch (err) {
          const why = `the daemon did not explain it: ${err instanceof Error ? err.message : String(err)}`;
          for (const i of part) sides[i] = { unknown: why };
        }
      }
    }
    return sides;
  } finally {
    conn.close();
    store.close();
  }
}

/** Two lines per path: E's verdict and R's, each with what decided it. Everything E said is escaped. */
export function printClientIgnoreChecks(checks: readonly ClientIgnoreCheck[], out: (line: string) => void): void {
  for (const c of checks) {
    const where = `${e(c.path)}  (${e(c.root)}:${e(c.rel === "" ? "." : c.rel)})`;
    if ("unknown" in c.e) out(`E: unknown  ${where}  ${e(c.e.unknown)}`);
    else out(`E: ${c.e.synced ? "synced " : "ignored"}  ${where}  ${e(c.e.reason)}`);
    out(`R: ${c.r.offered ? "offered" : "ignored"}  ${where}  ${e(c.r.reason)}`);
  }
}

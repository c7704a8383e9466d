import { execFileSync } from "node:child_process";

/** The per-user-namespace limit on inotify watches (ucounts are hierarchical: the machine's limit still applies above it). */
const NAMESPACE_LIMIT = "/proc/sys/user/max_inotify_watches";

/**
 * A launcher (for `spawnBin`/`startTestDaemon`) that runs the process in a user namespace of its own whose limit
 * on inotify watches is `limit`, leaving the machine's `fs.inotify.max_user_watches` and every other process alone.
 */
export function withWatchLimit(limit: number): string[] {
  return ["unshare", "--user", "--map-root-user", "sh", "-c", `echo ${limit} > ${NAMESPACE_LIMIT} && exec "$@"`, "sh"];
}

/** Undefined when {@link withWatchLimit} works here, else a sentence saying why not (no unshare, user namespaces off). */
export function watchLimitUnavailable(): string | undefined {
  try {
    const out = execFileSync(withWatchLimit(7)[0]!, [...withWatchLimit(7).slice(1), "cat", NAMESPACE_LIMIT], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    return out.trim() === "7" ? undefined : `a user namespace's watch limit did not take (read back ${JSON.stringify(out.trim())})`;
  } catch (err) {
    return `a user namespace with its own inotify watch limit cannot be made here (${(err as Error).message.split("\n")[0]})`;
  }
}

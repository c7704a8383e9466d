import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync } from "node:fs";
import { UnwatchedRescans, type ChangeHints } from "@zync/daemon";
import { loadIgnoreRules, type Logger } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { waitFor } from "../../helpers/waitFor.js";

afterAll(removeTempDirs);

/** A watcher whose unwatched folders the test sets, and an indexer that notes what it is asked to rescan. */
function rig(unwatched: string[], watched = 3) {
  const root = tempDir("zync-e-");
  for (const d of ["a/x/y", "b/c", "b/d", "node_modules/pkg"]) mkdirSync(`${root}/${d}`, { recursive: true });
  const state = { unwatched, watched, rewatches: 0 };
  const hints: ChangeHints = {
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
    coverage: () => ({ watched: state.watched, unwatched: state.unwatched }),
    rewatch: () => void state.rewatches++,
  };
  const rescanned: string[] = [];
  const said: { level: string; msg: string }[] = [];
  const logger: Logger = {
    info: (msg) => said.push({ level: "info", msg }),
    verbose: () => undefined,
    warn: (msg) => said.push({ level: "warn", msg }),
    error: (msg) => said.push({ level: "error", msg }),
  };
  const published: unknown[] = [];
  const fallback = new UnwatchedRescans({
    root: { name: "code", abs: root },
    rules: loadIgnoreRules(root),
    hints,
    indexer: { reconcile: (under = "") => (rescanned.push(under), Promise.resolve({ recorded: 0, hashed: 0, scanned: 0 })) },
    intervalMs: 60,
    logger,
    publish: (c) => published.push(c),
    onCookies: () => undefined,
    readText: (f) => (f.endsWith("max_user_watches") ? "8192" : "5"),
  });
  return { state, fallback, rescanned, said, published };
}

describe("rescans of the folders the watcher could not watch", () => {
  test("the topmost unwatched folders are rescanned, counted (ignored folders not), and reported in one warning", async () => {
    const r = rig(["b/c", "a", "a/x"]);
    try {
      r.fallback.onUnwatched("a");
      r.fallback.onUnwatched("b/c");
      await waitFor(() => r.published.length > 0, "the shortfall to be published");
      expect(r.rescanned.slice(0, 2)).toEqual(["a", "b/c"]);
      // Watched 3, plus a, a/x, a/x/y and b/c: node_modules is ignored, so it is never wanted.
      expect(r.published[0]).toMatchObject({ watched: 3, needed: 7, limitNeeded: 9, unwatched: ["a", "b/c"], unwatchedTotal: 2 });
      expect(r.said.filter((s) => s.level === "warn")).toEqual([{ level: "warn", msg: expect.stringMatching(/^root code needs 7 inotify watches .* got only 3, because the system's limit of 5 inotify watches is reached; raise it with 'sysctl fs\.inotify\.max_user_watches=9'/) }]);
      // Every interval: watching them is tried again, then they are rescanned; still one warning.
      await waitFor(() => r.state.rewatches >= 2 && r.rescanned.length >= 6, "two rounds of rescans");
      expect(r.said.filter((s) => s.level === "warn")).toHaveLength(1);
    } finally {
      r.fallback.stop();
    }
  });

  test("once every folder is watched again, it is said so and the shortfall is cleared", async () => {
    const r = rig(["b"]);
    try {
      r.fallback.onUnwatched("b");
      await waitFor(() => r.published.length > 0, "the shortfall to be published");
      r.state.unwatched = [];
      await waitFor(() => r.published.at(-1) === undefined && r.published.length > 1, "the shortfall to be cleared");
      expect(r.said.at(-1)).toEqual({ level: "info", msg: "root code: every folder is watched again; its periodic rescans of unwatched folders stop" });
    } finally {
      r.fallback.stop();
    }
  });

  test("a barrier's catch-up rescans the unwatched folders, and costs nothing when every folder is watched", async () => {
    const none = rig([]);
    await none.fallback.catchUp();
    expect(none.rescanned).toEqual([]);
    none.fallback.stop();

    const some = rig(["a/x", "b"]);
    try {
      await some.fallback.catchUp();
      expect(some.rescanned).toEqual(["a/x", "b"]);
    } finally {
      some.fallback.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync } from "node:fs";
import { ClientStore, emptyReport, NO_DURABILITY, pullRoot, type ChangeFeed, type ContentSource, type PullContext, type RunReport } from "@zync/client";
import { hashBytes, loadIgnoreRules, SafeRoot, type Logger } from "@zync/node";
import type { Change } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, verbose: () => undefined } as unknown as Logger;
const MTIME = 1_600_000_000_000;
const policy = { allowMassDelete: false, maxDeleteShare: 0.5 };

function report(): RunReport {
  return emptyReport();
}

/** E's files in memory, a context for one root on R, and the changes that list E's files one per page. */
async function setup(paths: readonly string[]) {
  const root = tempDir("zync-pull-root-");
  const store = new ClientStore(`${tempDir("zync-pull-db-")}/client.db`);
  const e = new Map(paths.map((p) => [p, Buffer.from(`content of ${p}\n`)]));
  const source: ContentSource = {
    fetch: async (path, _hash, sink) => {
      const data = e.get(path)!;
      await sink(data);
      return { hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: MTIME };
    },
    classify: () => ({ kind: "fatal" }),
  };
  const changes: Change[] = [];
  for (const [i, p] of paths.entries()) {
    const data = e.get(p)!;
    changes.push({ seq: i + 1, root: "code", path: p, state: { kind: "file", hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: MTIME } });
  }
  const ctx: PullContext = {
    name: "code",
    root: new SafeRoot(root),
    store,
    rules: loadIgnoreRules(root),
    source,
    durability: NO_DURABILITY,
    policy: { preferDaemon: false },
    logger: quiet,
    report: report(),
    dryRun: false,
  };
  /** One change a page; each request notes which of E's files R already holds when it is asked. */
  const heldWhenAsked: string[][] = [];
  const feed: ChangeFeed = (since) => {
    heldWhenAsked.push(paths.filter((p) => existsSync(`${root}/${p}`)));
    const page = changes.filter((c) => c.seq > since).slice(0, 1);
    const next = page[0]?.seq ?? since;
    return Promise.resolve({ type: "CHANGES", id: 0, changes: page, next, head: changes.length, more: next < changes.length });
  };
  return { root, store, ctx, feed, heldWhenAsked };
}

describe("pulling a root page by page", () => {
  test("a first sync writes and records each page before it asks for the next, so it never holds the whole list", async () => {
    const s = await setup(["a.txt", "b.txt", "c.txt"]);
    expect(await pullRoot(s.ctx, s.feed, 0, policy, 1)).toBe(3);
    expect(s.heldWhenAsked).toEqual([[], ["a.txt"], ["a.txt", "b.txt"]]);
    expect(s.store.cursor("code")).toEqual({ seq: 3, resync: false });
    expect(s.store.bases("code").map((b) => b.path).sort()).toEqual(["a.txt", "b.txt", "c.txt"]);
  });

  test("a pull into a root that holds files reads every page before writing anything (the deletion guard sees them all)", async () => {
    const s = await setup(["a.txt", "b.txt", "c.txt"]);
    // An earlier pull, when E had only recorded a.txt.
    const firstOnly: ChangeFeed = async (since, limit) => ({ ...(await s.feed(since, limit)), head: 1, more: false });
    await pullRoot(s.ctx, firstOnly, 0, policy, 1);
    expect(s.store.cursor("code").seq).toBe(1);
    s.heldWhenAsked.length = 0;
    expect(await pullRoot(s.ctx, s.feed, 0, policy, 1)).toBe(3);
    expect(s.heldWhenAsked).toEqual([["a.txt"], ["a.txt"]]);
    expect(existsSync(`${s.root}/c.txt`)).toBe(true);
  });
});

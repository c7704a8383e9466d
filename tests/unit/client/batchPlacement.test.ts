import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ClientStore, emptyReport, NO_DURABILITY, pullRoot, type BatchProgress, type ChangeFeed, type ContentSource, type PullContext } from "@zync/client";
import { hashBytes, loadIgnoreRules, SafeRoot, type Logger } from "@zync/node";
import type { Change, GitBatch } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, verbose: () => undefined } as unknown as Logger;
const MTIME = 1_600_000_000_000;
const policy = { allowMassDelete: false, maxDeleteShare: 0.5 };

/**
 * E in memory: its files' content and its change log (seqs from 1). `feed` serves pages of at most `limit`
 * changes after a cursor, each naming the batches its changes belong to, as a daemon with feature git does.
 */
function fakeE() {
  const content = new Map<string, Buffer>();
  const log: Change[] = [];
  const batches: GitBatch[] = [];
  let fetched = 0;
  const record = async (files: Record<string, Buffer>, asBatch: boolean): Promise<void> => {
    const first = log.length + 1;
    for (const [path, data] of Object.entries(files)) {
      content.set(path, data);
      const old = log.findIndex((c) => c.path === path);
      if (old >= 0) log.splice(old, 1);
      log.push({ seq: first + Object.keys(files).indexOf(path), root: "code", path, state: { kind: "file", hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: MTIME } });
    }
    if (asBatch) batches.push({ root: "code", first, last: first + Object.keys(files).length - 1 });
  };
  const head = (): number => Math.max(0, ...log.map((c) => c.seq));
  const feed: ChangeFeed = (since, limit) => {
    const changes = log.filter((c) => c.seq > since).sort((a, b) => a.seq - b.seq).slice(0, limit);
    const more = changes.length === limit && log.some((c) => c.seq > changes[changes.length - 1]!.seq);
    const next = more ? changes[changes.length - 1]!.seq : Math.max(since, head());
    const named = batches.filter((b) => changes.some((c) => c.seq >= b.first && c.seq <= b.last));
    return Promise.resolve({ type: "CHANGES", id: 0, changes, next, head: head(), more, ...(named.length > 0 ? { batches: named } : {}) });
  };
  return { content, record, feed, fetchedCount: () => fetched, countFetch: () => fetched++ };
}

/** A root on R pulling from `e`; `onFetch` runs as each file is fetched (before its bytes are given). */
function rOf(e: ReturnType<typeof fakeE>, onFetch: (path: string) => void = () => undefined) {
  const root = tempDir("zync-batch-r-");
  const store = new ClientStore(`${tempDir("zync-batch-db-")}/client.db`);
  const progress: (BatchProgress & { fetchedBefore: number })[] = [];
  const source: ContentSource = {
    fetch: async (path, _hash, sink) => {
      onFetch(path);
      const data = e.content.get(path)!;
      for (let off = 0; off < data.length; off += 1 << 20) await sink(data.subarray(off, off + (1 << 20)));
      e.countFetch();
      return { hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: MTIME };
    },
    classify: () => ({ kind: "fatal" }),
  };
  const ctx: PullContext = {
    name: "code",
    root: new SafeRoot(root),
    store,
    rules: loadIgnoreRules(root),
    source,
    durability: NO_DURABILITY,
    policy: { preferDaemon: false },
    logger: quiet,
    report: emptyReport(),
    dryRun: false,
    onBatch: (p) => progress.push({ ...p, fetchedBefore: e.fetchedCount() }),
  };
  return { root, store, ctx, progress };
}

const files = (n: number, tag: string): Record<string, Buffer> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 3}/f${i}.txt`, Buffer.from(`${tag} ${i}\n`)]));

/** How many of `paths` R holds with the content tagged `tag`. */
function holdingTag(root: string, paths: readonly string[], tag: string): number {
  return paths.filter((p) => existsSync(`${root}/${p}`) && readFileSync(`${root}/${p}`, "utf8").startsWith(`${tag} `)).length;
}

describe("a batch is placed as one unit", () => {
  test("a batch across several pages is fetched whole into temp files before any of it is placed", async () => {
    const e = fakeE();
    await e.record(files(30, "old"), false);
    const paths = Object.keys(files(30, "old"));
    let newSeenWhileFetching = 0;
    const r = rOf(e, () => (newSeenWhileFetching += holdingTag(r.root, paths, "new")));
    await pullRoot(r.ctx, e.feed, 0, policy, 7);
    expect(holdingTag(r.root, paths, "old")).toBe(30);
    expect(r.progress).toEqual([]);

    await e.record(files(30, "new"), true);
    const fetchedBefore = e.fetchedCount();
    expect(await pullRoot(r.ctx, e.feed, 0, policy, 7)).toBe(60);
    expect(newSeenWhileFetching).toBe(0);
    expect(holdingTag(r.root, paths, "new")).toBe(30);
    expect(r.progress.map((p) => [p.phase, p.changes, p.files, p.fetchedBefore - fetchedBefore])).toEqual([
      ["fetched", 30, 30, 30],
      ["placing", 30, 30, 30],
      ["placed", 30, 30, 30],
    ]);
    expect(r.store.cursor("code")).toEqual({ seq: 60, resync: false });
  });

  test("the same changes without a batch are placed page by page, as before (so the check above can fail)", async () => {
    const e = fakeE();
    await e.record(files(30, "old"), false);
    const paths = Object.keys(files(30, "old"));
    let newSeenWhileFetching = 0;
    const r = rOf(e, () => (newSeenWhileFetching += holdingTag(r.root, paths, "new")));
    await pullRoot(r.ctx, e.feed, 0, policy, 7);
    await e.record(files(30, "new"), false);
    await pullRoot(r.ctx, e.feed, 0, policy, 7);
    expect(newSeenWhileFetching).toBeGreaterThan(0);
    expect(holdingTag(r.root, paths, "new")).toBe(30);
    expect(r.progress).toEqual([]);
  });

  test("a first sync of a batch across pages places nothing before everything is fetched", async () => {
    const e = fakeE();
    await e.record(files(20, "new"), true);
    const paths = Object.keys(files(20, "new"));
    let presentWhileFetching = 0;
    const r = rOf(e, () => (presentWhileFetching += paths.filter((p) => existsSync(`${r.root}/${p}`)).length));
    expect(await pullRoot(r.ctx, e.feed, 0, policy, 6)).toBe(20);
    expect(presentWhileFetching).toBe(0);
    expect(holdingTag(r.root, paths, "new")).toBe(20);
    expect(r.progress.map((p) => p.phase)).toEqual(["fetched", "placing", "placed"]);
  });

  test("an edit R made to a file of the batch is kept and reported; the rest of the batch is placed", async () => {
    const e = fakeE();
    await e.record(files(12, "old"), false);
    const r = rOf(e);
    await pullRoot(r.ctx, e.feed, 0, policy, 5);
    writeFileSync(`${r.root}/d1/f4.txt`, "R's own edit\n");
    await e.record(files(12, "new"), true);
    await pullRoot(r.ctx, e.feed, 0, policy, 5);
    expect(readFileSync(`${r.root}/d1/f4.txt`, "utf8")).toBe("R's own edit\n");
    expect(r.store.conflicts("code").map((c) => c.path)).toEqual(["d1/f4.txt"]);
    expect(holdingTag(r.root, Object.keys(files(12, "new")), "new")).toBe(11);
  });

  test("a batch larger than the fetch window and the placement chunk (2,100 files and 72 MiB) is fetched to disk whole, then placed", async () => {
    const e = fakeE();
    const many = files(2100, "new");
    for (let i = 0; i < 3; i++) many[`big/b${i}.bin`] = Buffer.alloc(24 * 1024 * 1024, i + 1);
    await e.record(many, true);
    const r = rOf(e);
    expect(await pullRoot(r.ctx, e.feed, 0, policy, 5000)).toBe(2103);
    expect(r.progress.map((p) => [p.phase, p.files, p.fetchedBefore])).toEqual([
      ["fetched", 2103, 2103],
      ["placing", 2103, 2103],
      ["placed", 2103, 2103],
    ]);
    expect(readFileSync(`${r.root}/big/b2.bin`).equals(many["big/b2.bin"]!)).toBe(true);
    expect(holdingTag(r.root, Object.keys(files(2100, "new")), "new")).toBe(2100);
  });
});

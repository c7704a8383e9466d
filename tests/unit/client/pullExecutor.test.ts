import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { ClientStore, executePage, NO_DURABILITY, recoverPlacements, type ContentSource, type LocalBase, type Durability, type PullContext, type PullItem, type RunReport } from "@zync/client";
import { hashBytes, loadIgnoreRules, SafeRoot, type Logger } from "@zync/node";
import type { FileState } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, verbose: () => undefined } as unknown as Logger;

function emptyReport(): RunReport {
  return { written: 0, deleted: 0, changed: [], bytes: 0, copied: 0, conflicts: [], merged: [], notMerged: [], unplaced: [], unsynced: [], keptAside: [], preview: [], plannedFiles: 0, plannedBytes: 0 };
}

/** E's side in memory: path → bytes. The source sends whatever E holds now, like the daemon does. */
function memorySource(files: Map<string, Buffer>): ContentSource {
  return {
    fetch: async (path, _hash, sink) => {
      const data = files.get(path);
      if (data === undefined) throw Object.assign(new Error(`${path} is gone`), { gone: true });
      await sink(data);
      return { hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: 1_600_000_000_000 };
    },
    classify: (err) => ((err as { gone?: boolean }).gone ? { kind: "gone" } : { kind: "fatal" }),
  };
}

async function fileOf(content: string): Promise<FileState> {
  const bytes = Buffer.from(content);
  return { kind: "file", hash: await hashBytes(bytes), size: bytes.length, mode: 0o644, mtimeMs: 1_600_000_000_000 };
}

type Setup = { root: string; store: ClientStore; e: Map<string, Buffer>; ctx: (extra?: Partial<PullContext>) => PullContext };

function setup(): Setup {
  const root = tempDir("zync-exec-root-");
  const store = new ClientStore(`${tempDir("zync-exec-db-")}/client.db`);
  const e = new Map<string, Buffer>();
  const ctx = (extra: Partial<PullContext> = {}): PullContext => ({
    name: "code",
    root: new SafeRoot(root),
    store,
    rules: loadIgnoreRules(root),
    source: memorySource(e),
    durability: NO_DURABILITY,
    policy: { preferDaemon: false },
    logger: quiet,
    report: emptyReport(),
    dryRun: false,
    ...extra,
  });
  return { root, store, e, ctx };
}

/** E now holds `content` at `path`; returns the change the daemon would send. */
async function onE(s: Setup, seq: number, path: string, content: string): Promise<PullItem> {
  s.e.set(path, Buffer.from(content));
  return { seq, path, remote: await fileOf(content) };
}

async function pullAndCommit(s: Setup, items: PullItem[], extra: Partial<PullContext> = {}) {
  const outcome = await executePage(s.ctx(extra), items);
  s.store.commit("code", outcome);
  return outcome;
}

describe("the executor", () => {
  test("files a killed run placed are recognised as E's: E's next version is written, with no false conflict", async () => {
    const s = setup();
    const first = [await onE(s, 1, "a.txt", "one\n"), await onE(s, 2, "b.txt", "two\n")];
    // The run places both files and is killed before it commits the page: its outcome is never recorded.
    await executePage(s.ctx(), first);
    expect(readFileSync(`${s.root}/a.txt`, "utf8")).toBe("one\n");
    expect(s.store.base("code", "a.txt")).toBeUndefined();

    // The next run finishes what the killed one noted, then E's new versions arrive.
    const recovered = await recoverPlacements(s.ctx());
    expect(recovered?.bases.map((b) => b.path).sort()).toEqual(["a.txt", "b.txt"]);
    s.store.commit("code", recovered!);
    const next = await pullAndCommit(s, [await onE(s, 3, "a.txt", "one, again\n"), await onE(s, 4, "b.txt", "two, again\n")]);
    expect(next.conflicts).toEqual([]);
    expect(readFileSync(`${s.root}/a.txt`, "utf8")).toBe("one, again\n");
    expect(readFileSync(`${s.root}/b.txt`, "utf8")).toBe("two, again\n");
  });

  test("an edit on R that keeps the file's size and mtime (cp -p, touch -r) is never overwritten", async () => {
    const s = setup();
    await pullAndCommit(s, [await onE(s, 1, "a.txt", "version 1\n")]);
    const before = statSync(`${s.root}/a.txt`);
    writeFileSync(`${s.root}/a.txt`, "R's edit!\n");
    utimesSync(`${s.root}/a.txt`, before.atime, before.mtime);
    const outcome = await pullAndCommit(s, [await onE(s, 2, "a.txt", "version 2\n")]);
    expect(outcome.conflicts.map((c) => c.path)).toEqual(["a.txt"]);
    expect(readFileSync(`${s.root}/a.txt`, "utf8")).toBe("R's edit!\n");
  });

  test("one path that cannot be placed is reported and skipped; the rest of the page lands", async () => {
    const s = setup();
    const long = `${"x".repeat(300)}.txt`;
    const outcome = await pullAndCommit(s, [await onE(s, 1, long, "too long\n"), await onE(s, 2, "fine.txt", "fine\n")]);
    expect(outcome.unplaced.map((u) => [u.path, u.reason])).toEqual([[long, "the name is too long for R's filesystem"]]);
    expect(readFileSync(`${s.root}/fine.txt`, "utf8")).toBe("fine\n");
    expect(s.store.unplaced("code").map((u) => u.path)).toEqual([long]);
  });

  test("content that is not what the change announced (E rewrote it while sending) is never placed", async () => {
    const s = setup();
    const item = await onE(s, 1, "a.txt", "announced\n");
    s.e.set("a.txt", Buffer.from("rewritten meanwhile\n"));
    const outcome = await pullAndCommit(s, [item]);
    expect(existsSync(`${s.root}/a.txt`)).toBe(false);
    expect(outcome.bases).toEqual([]);
    expect(outcome.conflicts).toEqual([]);
  });

  test("a pass whose signal is aborted stops before its next placement", async () => {
    const s = setup();
    const stop = new AbortController();
    stop.abort(new Error("connection replaced"));
    await expect(executePage(s.ctx({ signal: stop.signal }), [await onE(s, 1, "a.txt", "a\n")])).rejects.toThrow("connection replaced");
    expect(existsSync(`${s.root}/a.txt`)).toBe(false);
  });

  test("durability is ordered: data flushed, placements noted, renamed, folders flushed, and only then recorded", async () => {
    const s = setup();
    const events: string[] = [];
    const durability: Durability = {
      flush: async (files, dirs) => {
        events.push(`flush ${files.length} file(s), folders [${dirs.map((d) => d.slice(s.root.length) || "root").join(" ")}]; a.txt in place: ${existsSync(`${s.root}/a.txt`)}`);
      },
    };
    const notePlacing = s.store.notePlacing.bind(s.store);
    s.store.notePlacing = (root, placements) => {
      events.push(`note ${placements.map((p) => p.path).join(",")}`);
      notePlacing(root, placements);
    };
    const outcome = await executePage(s.ctx({ durability }), [await onE(s, 1, "a.txt", "a\n"), await onE(s, 2, "sub/b.txt", "b\n")]);
    events.push("commit");
    s.store.commit("code", outcome);
    expect(events).toEqual(["flush 2 file(s), folders []; a.txt in place: false", "note a.txt,sub/b.txt", "flush 0 file(s), folders [root /sub]; a.txt in place: true", "commit"]);
    expect(s.store.placing("code")).toEqual([]);
  });

  test("a file R already holds under another name is copied locally, not downloaded, even when its delete comes first", async () => {
    const s = setup();
    await pullAndCommit(s, [await onE(s, 1, "src/a.txt", "moved content\n")]);
    const fetched: string[] = [];
    const source = memorySource(s.e);
    const counting: ContentSource = { ...source, fetch: (path, hash, sink) => (fetched.push(path), source.fetch(path, hash, sink)) };
    s.e.delete("src/a.txt");
    const moved = await onE(s, 3, "lib/a.txt", "moved content\n");
    const report = emptyReport();
    await pullAndCommit(s, [{ seq: 2, path: "src/a.txt", remote: { kind: "deleted" } }, moved], { source: counting, report });
    expect(fetched).toEqual([]);
    expect(report.copied).toBe(1);
    expect(readFileSync(`${s.root}/lib/a.txt`, "utf8")).toBe("moved content\n");
    expect(existsSync(`${s.root}/src/a.txt`)).toBe(false);
  });
});

describe("a power cut before a page is recorded", () => {
  test.each([
    ["no rename survived", [false, false, false]],
    ["some renames survived", [true, false, true]],
    ["every rename survived", [true, true, true]],
  ])("loses nothing and reports no false conflict when %s", async (_what, survived) => {
    const s = setup();
    const names = ["a.txt", "dir/b.txt", "c.txt"];
    await pullAndCommit(s, await Promise.all(names.map((n, i) => onE(s, i + 1, n, `${n} v1\n`))));
    const v2 = await Promise.all(names.map((n, i) => onE(s, i + 10, n, `${n} v2\n`)));
    // The cut comes after the renames, before their folders were flushed: a rename that was not flushed is
    // lost, and the file holds its old bytes again. The error stops the run before it records the page.
    const cut: Durability = {
      flush: async (_files, dirs) => {
        if (dirs.length === 0) return;
        names.forEach((n, i) => {
          if (!survived[i]) writeFileSync(`${s.root}/${n}`, `${n} v1\n`);
        });
        throw new Error("power cut");
      },
    };
    await expect(executePage(s.ctx({ durability: cut }), v2)).rejects.toThrow("power cut");

    // Meanwhile E moves on. The next run recognises whatever survived as E's, so E's newer version replaces
    // it, and nothing conflicts.
    const v3 = await Promise.all(names.map((n, i) => onE(s, i + 20, n, `${n} v3\n`)));
    const recovered = await recoverPlacements(s.ctx());
    if (recovered) s.store.commit("code", recovered);
    const again = await pullAndCommit(s, v3);
    expect(again.conflicts).toEqual([]);
    for (const n of names) expect(readFileSync(`${s.root}/${n}`, "utf8")).toBe(`${n} v3\n`);
  });
});

describe("the executor offers R's intact base for a delta", () => {
  test("a file R holds as received is fetched against it; a new file is fetched without one", async () => {
    const s = setup();
    await pullAndCommit(s, [await onE(s, 1, "a.txt", "one\n")]);
    const bases: (LocalBase | undefined)[] = [];
    const inner = memorySource(s.e);
    const source: ContentSource = { ...inner, fetch: (path, hash, sink, base) => (bases.push(base), inner.fetch(path, hash, sink)) };
    await pullAndCommit(s, [await onE(s, 2, "a.txt", "two\n"), await onE(s, 3, "b.txt", "new\n")], { source });
    expect(bases).toEqual([{ abs: `${s.root}/a.txt`, hash: (await fileOf("one\n")).hash, size: 4 }, undefined]);
    expect(readFileSync(`${s.root}/a.txt`, "utf8")).toBe("two\n");
  });

  test("when R edits the base during the delta, the file is fetched whole and R's edit becomes a conflict, intact", async () => {
    const s = setup();
    await pullAndCommit(s, [await onE(s, 1, "a.txt", "one\n")]);
    const calls: boolean[] = [];
    const inner = memorySource(s.e);
    const source: ContentSource = {
      fetch: async (path, hash, sink, base) => {
        calls.push(base !== undefined);
        if (base === undefined) return inner.fetch(path, hash, sink);
        // R saves its own edit while the delta is applied: the result does not have E's hash.
        writeFileSync(base.abs, "R's edit\n");
        await sink(Buffer.from("two\n"));
        throw Object.assign(new Error("the base changed"), { baseChanged: true });
      },
      classify: (err) => ((err as { baseChanged?: boolean }).baseChanged ? { kind: "base-changed" } : inner.classify(err)),
    };
    const outcome = await pullAndCommit(s, [await onE(s, 2, "a.txt", "two\n")], { source });
    expect(calls).toEqual([true, false]);
    expect(outcome.conflicts.map((c) => c.path)).toEqual(["a.txt"]);
    expect(readFileSync(`${s.root}/a.txt`, "utf8")).toBe("R's edit\n");
  });
});

describe("the executor with --merge", () => {
  const FIVE = "line1\nline2\nline3\nline4\nline5\n";

  /** E's past versions by hash, served as the daemon's version store would (only what it holds). */
  function withVersions(s: Setup, kept: Map<string, Buffer>): ContentSource {
    return { ...memorySource(s.e), version: (_path, hash) => Promise.resolve(kept.get(hash)) };
  }

  test("a clean merge is written to R, E's version becomes the base, and R's file then reads as R's edit of it", async () => {
    const s = setup();
    const first = await onE(s, 1, "five.txt", FIVE);
    await pullAndCommit(s, [first]);
    const kept = new Map([[(first.remote as FileState).hash, Buffer.from(FIVE)]]);
    writeFileSync(`${s.root}/five.txt`, FIVE.replace("line5", "line5 R"));
    const second = await onE(s, 2, "five.txt", FIVE.replace("line1", "line1 E"));
    const report = emptyReport();
    const outcome = await pullAndCommit(s, [second], { source: withVersions(s, kept), policy: { preferDaemon: false, merge: true }, report });
    expect({ conflicts: outcome.conflicts, merged: report.merged, written: report.written }).toEqual({ conflicts: [], merged: ["code/five.txt"], written: 0 });
    expect(readFileSync(`${s.root}/five.txt`, "utf8")).toBe("line1 E\nline2\nline3\nline4\nline5 R\n");
    const base = s.store.base("code", "five.txt");
    expect({ state: base?.state, key: base?.key }).toEqual({ state: second.remote, key: undefined });
    // E's next change of another line is a conflict again (R's merged file is R's edit), merged again.
    const third = await onE(s, 3, "five.txt", FIVE.replace("line1", "line1 E").replace("line3", "line3 E"));
    kept.set((second.remote as FileState).hash, Buffer.from(FIVE.replace("line1", "line1 E")));
    await pullAndCommit(s, [third], { source: withVersions(s, kept), policy: { preferDaemon: false, merge: true } });
    expect(readFileSync(`${s.root}/five.txt`, "utf8")).toBe("line1 E\nline2\nline3 E\nline4\nline5 R\n");
  });

  test("without --merge the same change is a conflict and R's file is untouched", async () => {
    const s = setup();
    const first = await onE(s, 1, "five.txt", FIVE);
    await pullAndCommit(s, [first]);
    writeFileSync(`${s.root}/five.txt`, FIVE.replace("line5", "line5 R"));
    const kept = new Map([[(first.remote as FileState).hash, Buffer.from(FIVE)]]);
    const outcome = await pullAndCommit(s, [await onE(s, 2, "five.txt", FIVE.replace("line1", "line1 E"))], { source: withVersions(s, kept) });
    expect(outcome.conflicts.map((c) => c.path)).toEqual(["five.txt"]);
    expect(readFileSync(`${s.root}/five.txt`, "utf8")).toBe(FIVE.replace("line5", "line5 R"));
  });

  test("a merge found impossible is not fetched again for the same two versions, and is reported once", async () => {
    const s = setup();
    const first = await onE(s, 1, "five.txt", FIVE);
    await pullAndCommit(s, [first]);
    writeFileSync(`${s.root}/five.txt`, FIVE.replace("line3", "line3 R"));
    let asked = 0;
    const source: ContentSource = {
      ...memorySource(s.e),
      version: () => {
        asked++;
        return Promise.resolve(Buffer.from(FIVE));
      },
    };
    const mergesTried = new Map<string, string>();
    const second = await onE(s, 2, "five.txt", FIVE.replace("line3", "line3 E"));
    const reports = [emptyReport(), emptyReport()];
    for (const report of reports) await pullAndCommit(s, [second], { source, policy: { preferDaemon: false, merge: true }, mergesTried, report });
    expect(asked).toBe(1);
    expect(reports.map((r) => [r.conflicts, r.notMerged])).toEqual([
      [["code/five.txt"], [{ path: "code/five.txt", reason: "R's and E's edits overlap (1 place)" }]],
      [["code/five.txt"], []],
    ]);
    expect(readFileSync(`${s.root}/five.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 R"));
  });
});

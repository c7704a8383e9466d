import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ChangeLog, RootIndexer } from "@zync/daemon";
import { loadIgnoreRules } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const open: { log: ChangeLog; ix: RootIndexer }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) {
    o.ix.stop();
    o.log.close();
  }
});

function setup(files: number, allow = false) {
  const root = tempDir("zync-guard-");
  mkdirSync(`${root}/src`);
  for (let i = 0; i < files; i++) writeFileSync(`${root}/src/f${i}.txt`, `file ${i}\n`);
  const log = new ChangeLog(`${tempDir("zync-guard-db-")}/sync.db`);
  const events: string[] = [];
  const guard = { allow, maxShare: 0.5, retryMs: 3_600_000, onHalt: (r: string) => events.push(`halt ${r}`), onResume: (r: string) => events.push(`resume ${r}`) };
  const ix = new RootIndexer(log, { name: "code", abs: root }, loadIgnoreRules(root), () => undefined, guard);
  open.push({ log, ix });
  return { root, log, ix, events };
}

const deletedCount = (log: ChangeLog): number => log.changesSince(0, 10_000).changes.filter((c) => c.state.kind === "deleted").length;

describe("the mass-deletion guard on E", () => {
  test("an emptied root is halted instead of recording its files as deleted, and resumes when they are back", async () => {
    const { root, log, ix, events } = setup(40);
    await ix.reconcile();
    renameSync(`${root}/src`, `${root}/../moved-away-${process.pid}`);
    await ix.reconcile();
    expect(deletedCount(log)).toBe(0);
    expect(ix.haltedBecause()).toMatch(/40 of its 40 files vanished/);
    expect(events).toEqual(["halt code"]);
    // While halted, watcher hints record nothing either.
    await ix.checkPaths(["src", "src/f1.txt"]);
    expect(deletedCount(log)).toBe(0);
    renameSync(`${root}/../moved-away-${process.pid}`, `${root}/src`);
    await ix.reconcile();
    expect(ix.haltedBecause()).toBeUndefined();
    expect(events).toEqual(["halt code", "resume code"]);
    expect(deletedCount(log)).toBe(0);
  });

  test("a burst of watcher hints that empties most of a root halts it", async () => {
    const { root, log, ix } = setup(40);
    await ix.reconcile();
    rmSync(`${root}/src`, { recursive: true });
    await ix.checkPaths(["src"]);
    expect(deletedCount(log)).toBe(0);
    expect(ix.haltedBecause()).toBeDefined();
  });

  test("deleting a few files, or many with the guard lifted, is recorded as usual", async () => {
    const few = setup(40);
    await few.ix.reconcile();
    for (let i = 0; i < 5; i++) rmSync(`${few.root}/src/f${i}.txt`);
    await few.ix.reconcile();
    expect(deletedCount(few.log)).toBe(5);
    expect(few.ix.haltedBecause()).toBeUndefined();

    const lifted = setup(40, true);
    await lifted.ix.reconcile();
    rmSync(`${lifted.root}/src`, { recursive: true });
    await lifted.ix.reconcile();
    expect(deletedCount(lifted.log)).toBe(41);
  });
});

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { rmSync, writeFileSync } from "node:fs";
import { startTestDaemon } from "../helpers/bins.js";
import { ensureGit, git, writeTree } from "../helpers/gitRepo.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

beforeAll(() => ensureGit());
afterAll(removeTempDirs);

/** A repository with three committed files on branch main. */
function repo(): string {
  const e = tempDir("zync-gitwire-");
  git(e, ["init", "-q", "-b", "main"]);
  git(e, ["config", "user.email", "t@example.com"]);
  git(e, ["config", "user.name", "t"]);
  writeTree(e, { "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n" });
  git(e, ["add", "-A"]);
  git(e, ["commit", "-q", "-m", "one"]);
  return e;
}

describe("feature git on the wire", () => {
  test("a version-4 connection that agreed git is told each root's git state after WELCOME and on change, and a page names the batch of what changed while git held its lock", async () => {
    const e = repo();
    const commit = git(e, ["rev-parse", "HEAD"]).trim();
    const daemon = await startTestDaemon([`code:${e}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { versions: [4, 3], features: ["git"] });
    try {
      expect(sock.welcome?.features).toEqual(["git"]);
      const first = await sock.nextText(0, (m) => m.type === "GIT_STATE", "GIT_STATE after WELCOME");
      expect(first).toEqual({ type: "GIT_STATE", roots: [{ root: "code", branch: "main", commit, waiting: null }] });
      const { reply: page } = await sock.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "code" });
      expect(page.batches).toBeUndefined();

      let from = sock.frames.length;
      writeFileSync(`${e}/.git/index.lock`, "");
      const waiting = await sock.nextText(from, (m) => m.type === "GIT_STATE", "GIT_STATE saying the daemon waits");
      expect(waiting.roots).toEqual([{ root: "code", branch: "main", commit, waiting: { since: expect.any(Number), reason: "git holds the index lock" } }]);
      writeTree(e, { "a.txt": "a2\n", "b.txt": "b2\n", "d.txt": "d\n" });
      from = sock.frames.length;
      rmSync(`${e}/.git/index.lock`);
      const done = await sock.nextText(from, (m) => m.type === "GIT_STATE", "GIT_STATE once git is done");
      expect(done.roots).toEqual([{ root: "code", branch: "main", commit, waiting: null }]);

      const after = await waitForPage(sock, page.next as number);
      const changes = after.changes as { seq: number; path: string }[];
      expect(changes.map((c) => c.path).sort()).toEqual(["a.txt", "b.txt", "d.txt"]);
      const seqs = changes.map((c) => c.seq);
      // One batch, recorded in one transaction: contiguous seqs.
      expect(after.batches).toEqual([{ root: "code", first: Math.min(...seqs), last: Math.max(...seqs) }]);
      expect(Math.max(...seqs) - Math.min(...seqs)).toBe(2);
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });

  test("a version-3 connection that offers git is served as before: git is not agreed, no GIT_STATE, no batches", async () => {
    const e = repo();
    const daemon = await startTestDaemon([`code:${e}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { versions: [3], features: ["git", "push"] });
    try {
      expect(sock.welcome?.version).toBe(3);
      expect(sock.welcome?.features).toEqual(["push"]);
      const { reply: page } = await sock.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "code" });
      writeFileSync(`${e}/.git/index.lock`, "");
      writeTree(e, { "a.txt": "a2\n", "b.txt": "b2\n" });
      rmSync(`${e}/.git/index.lock`);
      const after = await waitForPage(sock, page.next as number);
      expect(after.batches).toBeUndefined();
      expect(Object.keys(after).sort()).toEqual(["changes", "head", "id", "more", "next", "type"]);
      expect(sock.frames.some((f) => !f.binary && f.json?.type === "GIT_STATE")).toBe(false);
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });
});

let nextId = 100;

/** Asks for the root's changes after `since` until some arrive. */
async function waitForPage(sock: RawSocket, since: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { reply } = await sock.exchange({ type: "GET_CHANGES", id: nextId++, since, root: "code" });
    if ((reply.changes as unknown[]).length > 0) return reply;
    if (Date.now() > deadline) throw new Error("no changes arrived within 20 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

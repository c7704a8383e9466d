import { afterAll, describe, expect, test } from "@jest/globals";
import { openDatabase, VersionIndex, VersionStore } from "@zync/daemon";
import { hashBytes } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { waitFor } from "../../helpers/waitFor.js";

afterAll(removeTempDirs);

const H_A = "0123456789abcdef";
const H_B = "fedcba9876543210";

function freshIndex(): { index: VersionIndex; db: ReturnType<typeof openDatabase> } {
  const db = openDatabase(`${tempDir("zync-index-")}/sync.db`);
  return { index: new VersionIndex(db), db };
}

describe("the version index: which stored versions belong to which path", () => {
  test("a version served for one path belongs to that path of that root only", () => {
    const { index, db } = freshIndex();
    try {
      index.record("code", "a.txt", H_A, 1000);
      expect([index.belongs("code", "a.txt", H_A), index.belongs("code", "b.txt", H_A), index.belongs("docs", "a.txt", H_A), index.belongs("code", "a.txt", H_B)]).toEqual([true, false, false, false]);
    } finally {
      db.close();
    }
  });

  test("a version an apply replaced at a path belongs to that path of the session's root", () => {
    const { index, db } = freshIndex();
    try {
      db.prepare("INSERT INTO upstream_sessions (id, key, client_id, root, status, created_at, updated_at) VALUES (1, 'k', 'r', 'code', 'applied', 0, 0)").run();
      db.prepare("INSERT INTO upstream_changes (session_id, ord, path, base, state, staged, outcome, replaced) VALUES (1, 0, 'a.txt', NULL, '{}', 1, 'applied', ?)").run(H_B);
      expect([index.belongs("code", "a.txt", H_B), index.belongs("code", "b.txt", H_B), index.belongs("docs", "a.txt", H_B)]).toEqual([true, false, false]);
    } finally {
      db.close();
    }
  });

  test("pruning forgets what was last served before the cutoff, and serving again renews it", () => {
    const { index, db } = freshIndex();
    try {
      index.record("code", "old.txt", H_A, 1000);
      index.record("code", "new.txt", H_A, 1000);
      index.record("code", "new.txt", H_A, 5000);
      expect(index.prune(2000)).toBe(1);
      expect([index.belongs("code", "old.txt", H_A), index.belongs("code", "new.txt", H_A)]).toEqual([false, true]);
    } finally {
      db.close();
    }
  });
});

describe("keeping served versions", () => {
  test("the path a version was served for is noted once it is stored, each path on its own", async () => {
    const store = new VersionStore(`${tempDir("zync-versions-")}/sync.db.versions`);
    const bytes = Buffer.from("same content\n");
    const hash = await hashBytes(bytes);
    const noted: string[] = [];
    const note = (root: string, path: string, h: string): void => void noted.push(`${root}/${path}@${h}`);
    store.keepServed(hash, bytes, undefined, { root: "code", path: "a.txt", note });
    await waitFor(() => noted.length === 1 || undefined, "the first path noted");
    store.keepServed(hash, bytes, undefined, { root: "code", path: "copy.txt", note });
    await waitFor(() => noted.length === 2 || undefined, "the copy's path noted");
    expect(noted).toEqual([`code/a.txt@${hash}`, `code/copy.txt@${hash}`]);
  });

  test("with a size limit of 0 (--versions-max-mb 0) nothing served is kept", async () => {
    const dir = `${tempDir("zync-versions-")}/sync.db.versions`;
    const off = new VersionStore(dir, { maxBytes: 0 });
    const on = new VersionStore(dir);
    const [a, b] = [Buffer.from("served while off\n"), Buffer.from("served while on\n")];
    const [ha, hb] = await Promise.all([hashBytes(a), hashBytes(b)]);
    const noted: string[] = [];
    const note = (_root: string, path: string): void => void noted.push(path);
    // The same work queued first on the store that is off, then on one that is on: once the second is kept, the
    // first would have been too.
    off.keepServed(ha, a, undefined, { root: "code", path: "a.txt", note });
    on.keepServed(hb, b, undefined, { root: "code", path: "b.txt", note });
    await waitFor(() => noted.length > 0 || undefined, "the version served while on");
    expect({ off: off.has(ha), noted }).toEqual({ off: false, noted: ["b.txt"] });
  });
});

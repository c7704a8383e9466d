import { afterAll, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { ClientStore, scanUpstream } from "@zync/client";
import { hashBytes, loadIgnoreRules } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

test("a file a scan reads and finds unchanged gets a fresh key, so the next scan does not read it", async () => {
  const root = tempDir("zync-scan-root-");
  const store = new ClientStore(`${tempDir("zync-scan-db-")}/client.db`);
  writeFileSync(`${root}/a.txt`, "same\n");
  const hash = await hashBytes(Buffer.from("same\n"));
  // A base whose key no longer proves anything (the file was renamed into place after its key was taken).
  store.commit("code", { bases: [{ path: "a.txt", state: { kind: "file", hash, size: 5, mode: 0o644, mtimeMs: 0 }, key: undefined }], conflicts: [], unplaced: [], resolved: [] });
  // Keys taken well after the file last changed, so they can be trusted.
  const later = (): number => Date.now() + 60_000;
  expect(await scanUpstream(store, "code", root, loadIgnoreRules(root), later)).toEqual([]);
  expect(store.base("code", "a.txt")?.key).toMatchObject({ kind: "file", size: 5 });
  store.close();
});

test("a racy key is not stored: a file changed moments ago is read again next time", async () => {
  const root = tempDir("zync-scan-root-");
  const store = new ClientStore(`${tempDir("zync-scan-db-")}/client.db`);
  writeFileSync(`${root}/a.txt`, "same\n");
  const hash = await hashBytes(Buffer.from("same\n"));
  store.commit("code", { bases: [{ path: "a.txt", state: { kind: "file", hash, size: 5, mode: 0o644, mtimeMs: 0 }, key: undefined }], conflicts: [], unplaced: [], resolved: [] });
  expect(await scanUpstream(store, "code", root, loadIgnoreRules(root))).toEqual([]);
  expect(store.base("code", "a.txt")?.key).toBeUndefined();
  store.close();
});

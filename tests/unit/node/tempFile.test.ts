import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { clearTempDir, dropTempDirIfEmpty, hashBytes, statKeyOf, TEMP_DIR, TempFile, writeSymlinkAtomic } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const MTIME = 1_600_000_000_123;

describe("TempFile", () => {
  test("is written under the root's temp folder and nothing appears at the final name before commit", async () => {
    const root = tempDir();
    const final = `${root}/out.txt`;
    const temp = await TempFile.create(root);
    expect(temp.path.startsWith(`${root}/${TEMP_DIR}/`)).toBe(true);
    await temp.write(Buffer.from("hello "));
    await temp.write(Buffer.from("world"));
    expect(existsSync(final)).toBe(false);
    await temp.finish({ mode: 0o644, mtimeMs: MTIME, fsync: true });
    expect(existsSync(final)).toBe(false);
    expect(readdirSync(root)).toEqual([TEMP_DIR]);
    await temp.commit(final);
    expect(readFileSync(final, "utf8")).toBe("hello world");
    expect(existsSync(temp.path)).toBe(false);
  });

  test("commit replaces an existing file at the final name in one step", async () => {
    const root = tempDir();
    writeFileSync(`${root}/f`, "old");
    const temp = await TempFile.create(root);
    await temp.write(Buffer.from("new"));
    await temp.finish({ mode: 0o644, mtimeMs: MTIME, fsync: false });
    expect(readFileSync(`${root}/f`, "utf8")).toBe("old");
    await temp.commit(`${root}/f`);
    expect(readFileSync(`${root}/f`, "utf8")).toBe("new");
  });

  test("finish returns the hash and size of what was written", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    const parts = [Buffer.from("abc"), Buffer.alloc(0), Buffer.from("ü\n")];
    for (const p of parts) await temp.write(p);
    const got = await temp.finish({ mode: 0o644, mtimeMs: MTIME, fsync: false });
    const all = Buffer.concat(parts);
    expect(got).toMatchObject({ hash: await hashBytes(all), size: all.byteLength });
    // The key is the finished file's own, read through its descriptor.
    expect(got.key).toMatchObject({ kind: "file", size: all.byteLength, mtimeMs: MTIME });
    expect(got.key).toBe(temp.key);
  });

  test("an empty temp file finishes with the empty hash and size 0", async () => {
    const temp = await TempFile.create(tempDir());
    expect(await temp.finish({ mode: 0o600, mtimeMs: MTIME, fsync: false })).toMatchObject({ hash: await hashBytes(new Uint8Array()), size: 0 });
  });

  test("finish applies mode and mtime", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.write(Buffer.from("#!/bin/sh\n"));
    await temp.finish({ mode: 0o755, mtimeMs: MTIME, fsync: false });
    await temp.commit(`${root}/run.sh`);
    const st = lstatSync(`${root}/run.sh`);
    expect(st.mode & 0o7777).toBe(0o755);
    expect(Math.abs(st.mtimeMs - MTIME)).toBeLessThan(1);
  });

  test("finish applies mode bits that the umask would have removed", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.finish({ mode: 0o666, mtimeMs: MTIME, fsync: false });
    expect(lstatSync(temp.path).mode & 0o7777).toBe(0o666);
  });

  test("the mtime finish sets reads back as the same whole millisecond through statKeyOf", async () => {
    // zync compares mtimes as whole milliseconds (statKeyOf truncates); what it writes must read back the same.
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.finish({ mode: 0o644, mtimeMs: MTIME, fsync: false });
    expect(statKeyOf(lstatSync(temp.path))?.mtimeMs).toBe(MTIME);
  });

  test("discard leaves nothing behind, and the empty temp folder can then be dropped", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.write(Buffer.from("partial"));
    await temp.discard();
    expect(existsSync(temp.path)).toBe(false);
    expect(readdirSync(`${root}/${TEMP_DIR}`)).toEqual([]);
    await dropTempDirIfEmpty(root);
    expect(readdirSync(root)).toEqual([]);
  });

  test("discard after finish removes the finished file", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.write(Buffer.from("x"));
    await temp.finish({ mode: 0o644, mtimeMs: MTIME, fsync: false });
    await temp.discard();
    expect(existsSync(temp.path)).toBe(false);
  });

  test("two temp files of one root get different names", async () => {
    const root = tempDir();
    const [a, b] = await Promise.all([TempFile.create(root), TempFile.create(root)]);
    expect(a.path).not.toBe(b.path);
    await Promise.all([a.discard(), b.discard()]);
  });

  test("dropTempDirIfEmpty keeps a temp folder that still holds a file", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await dropTempDirIfEmpty(root);
    expect(existsSync(temp.path)).toBe(true);
    await temp.discard();
  });

  test("clearTempDir removes what an interrupted run left", async () => {
    const root = tempDir();
    const temp = await TempFile.create(root);
    await temp.write(Buffer.from("left over"));
    await clearTempDir(root);
    expect(existsSync(`${root}/${TEMP_DIR}`)).toBe(false);
  });
});

describe("writeSymlinkAtomic", () => {
  test("creates a link, or replaces an existing file or link, without following it", async () => {
    const root = tempDir();
    await writeSymlinkAtomic(root, "../target", `${root}/l`);
    expect(readlinkSync(`${root}/l`)).toBe("../target");
    writeFileSync(`${root}/f`, "x");
    await writeSymlinkAtomic(root, "f-target", `${root}/f`);
    expect(readlinkSync(`${root}/f`)).toBe("f-target");
    const outside = tempDir();
    symlinkSync(`${outside}/victim`, `${root}/trap`);
    await writeSymlinkAtomic(root, "new", `${root}/trap`);
    expect(readlinkSync(`${root}/trap`)).toBe("new");
    expect(existsSync(`${outside}/victim`)).toBe(false);
    expect(readdirSync(`${root}/${TEMP_DIR}`)).toEqual([]);
  });
});

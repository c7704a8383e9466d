import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { ErrorCode, ProtocolError } from "@zync/protocol";
import { SafeRoot } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

async function badPath(p: Promise<unknown>): Promise<ProtocolError> {
  let thrown: unknown;
  try {
    await p;
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(ErrorCode.BadPath);
  return thrown as ProtocolError;
}

describe("SafeRoot.resolve", () => {
  test("returns the local path for a path under real folders", async () => {
    const root = tempDir();
    mkdirSync(`${root}/a/b`, { recursive: true });
    const safe = new SafeRoot(root);
    expect(await safe.resolve("a/b/c.txt")).toBe(`${root}/a/b/c.txt`);
    expect(await safe.resolve("top.txt")).toBe(`${root}/top.txt`);
  });

  test("returns the local path when ancestors do not exist yet", async () => {
    const root = tempDir();
    expect(await new SafeRoot(root).resolve("new/deep/file")).toBe(`${root}/new/deep/file`);
  });

  test("refuses an unsafe wire path before touching the disk", async () => {
    const safe = new SafeRoot(tempDir());
    for (const rel of ["../x", "/etc/passwd", "a//b", "a/./b", ""]) await badPath(safe.resolve(rel));
  });

  test("refuses a path whose parent is a symlink to a folder outside the root", async () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(outside, `${root}/link`);
    const err = await badPath(new SafeRoot(root).resolve("link/x"));
    expect(err.message).toMatch(/symlink/);
  });

  test("refuses a path whose parent is a symlink even when it points inside the root", async () => {
    const root = tempDir();
    mkdirSync(`${root}/real`);
    symlinkSync("real", `${root}/link`);
    await badPath(new SafeRoot(root).resolve("link/x"));
  });

  test("refuses a path with a symlinked ancestor further up", async () => {
    const root = tempDir();
    mkdirSync(`${root}/real/sub`, { recursive: true });
    symlinkSync("real", `${root}/link`);
    await badPath(new SafeRoot(root).resolve("link/sub/x"));
  });

  test("refuses a path whose parent is a dangling symlink", async () => {
    const root = tempDir();
    symlinkSync("nowhere", `${root}/link`);
    await badPath(new SafeRoot(root).resolve("link/x"));
  });

  test("refuses a path whose parent is a file", async () => {
    const root = tempDir();
    writeFileSync(`${root}/file`, "x");
    const err = await badPath(new SafeRoot(root).resolve("file/x"));
    expect(err.message).toMatch(/not a directory/);
  });

  test("allows the final component itself to be a symlink (it is replaced, not written through)", async () => {
    const root = tempDir();
    symlinkSync("/etc", `${root}/link`);
    expect(await new SafeRoot(root).resolve("link")).toBe(`${root}/link`);
  });

  test("after forget(), a folder that became a symlink is refused again", async () => {
    const root = tempDir();
    mkdirSync(`${root}/a`);
    const safe = new SafeRoot(root);
    await safe.resolve("a/x");
    rmSync(`${root}/a`, { recursive: true });
    symlinkSync(tempDir(), `${root}/a`);
    safe.forget("a");
    await badPath(safe.resolve("a/x"));
  });

  test("forget() of a folder also forgets what lies below it", async () => {
    const root = tempDir();
    mkdirSync(`${root}/a/b`, { recursive: true });
    const safe = new SafeRoot(root);
    await safe.resolve("a/b/x");
    rmSync(`${root}/a/b`, { recursive: true });
    symlinkSync(tempDir(), `${root}/a/b`);
    safe.forget("a");
    await badPath(safe.resolve("a/b/x"));
  });
});

describe("SafeRoot.ensureParent", () => {
  test("creates every missing ancestor as a real folder, not the path itself", async () => {
    const root = tempDir();
    await new SafeRoot(root).ensureParent("a/b/c/file.txt");
    expect(lstatSync(`${root}/a`).isDirectory()).toBe(true);
    expect(lstatSync(`${root}/a/b/c`).isDirectory()).toBe(true);
    expect(existsSync(`${root}/a/b/c/file.txt`)).toBe(false);
  });

  test("is a no-op for a top-level path and for existing folders", async () => {
    const root = tempDir();
    mkdirSync(`${root}/a`);
    writeFileSync(`${root}/a/keep`, "k");
    const safe = new SafeRoot(root);
    await safe.ensureParent("top");
    await safe.ensureParent("a/x");
    expect(existsSync(`${root}/a/keep`)).toBe(true);
  });

  test("refuses to go through a symlink to a folder, and creates nothing through it", async () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(outside, `${root}/link`);
    await badPath(new SafeRoot(root).ensureParent("link/sub/file"));
    expect(existsSync(`${outside}/sub`)).toBe(false);
  });

  test("refuses to go through a dangling symlink, and does not create its target", async () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(`${outside}/made`, `${root}/link`);
    await badPath(new SafeRoot(root).ensureParent("link/file"));
    expect(existsSync(`${outside}/made`)).toBe(false);
  });

  test("refuses to go through a file", async () => {
    const root = tempDir();
    writeFileSync(`${root}/f`, "x");
    await badPath(new SafeRoot(root).ensureParent("f/x"));
  });

  test("after ensureParent, resolve accepts the path", async () => {
    const root = tempDir();
    const safe = new SafeRoot(root);
    await safe.ensureParent("n/m/x");
    expect(await safe.resolve("n/m/x")).toBe(`${root}/n/m/x`);
  });
});

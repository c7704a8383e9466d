import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { VersionStore } from "@zync/daemon";
import { hashBytes } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { waitFor } from "../../helpers/waitFor.js";

afterAll(removeTempDirs);

const DAY = 24 * 60 * 60 * 1000;

/** A store in a fresh folder with a clock the test moves. */
function storeAt(limits: ConstructorParameters<typeof VersionStore>[1] = {}): { store: VersionStore; clock: { now: number } } {
  const clock = { now: Date.UTC(2026, 0, 10) };
  return { store: new VersionStore(`${tempDir("zync-versions-")}/sync.db.versions`, limits, () => clock.now), clock };
}

async function version(text: string): Promise<{ hash: string; bytes: Buffer }> {
  const bytes = Buffer.from(text);
  return { hash: await hashBytes(bytes), bytes };
}

describe("the version store", () => {
  test("gives back what was stored under its hash, compressed on disk, one file per hash", async () => {
    const { store } = storeAt();
    const v = await version("line\n".repeat(1000));
    expect(await store.put(v.hash, v.bytes)).toBe(true);
    expect(await store.put(v.hash, v.bytes)).toBe(true);
    expect(await store.get(v.hash)).toEqual(v.bytes);
    expect(readdirSync(store.dir)).toEqual([`${v.hash}.gz`]);
    const onDisk = readFileSync(`${store.dir}/${v.hash}.gz`);
    expect(onDisk.byteLength).toBeLessThan(v.bytes.byteLength / 10);
    expect(gunzipSync(onDisk)).toEqual(v.bytes);
  });

  test("refuses content that does not hash to the name it is stored under", async () => {
    const { store } = storeAt();
    const v = await version("real\n");
    expect(await store.put(v.hash, Buffer.from("other\n"))).toBe(false);
    expect(store.has(v.hash)).toBe(false);
    expect(await store.put("../../etc/passwd", v.bytes)).toBe(false);
  });

  test("a damaged stored copy is never returned", async () => {
    const { store } = storeAt();
    const v = await version("original\n");
    const w = await version("tampered\n");
    await store.put(v.hash, v.bytes);
    await store.put(w.hash, w.bytes);
    // Valid gzip of other bytes under v's name, and bytes that are not gzip at all.
    writeFileSync(`${store.dir}/${v.hash}.gz`, readFileSync(`${store.dir}/${w.hash}.gz`));
    expect(await store.get(v.hash)).toBeUndefined();
    writeFileSync(`${store.dir}/${w.hash}.gz`, "not gzip");
    expect(await store.get(w.hash)).toBeUndefined();
    expect(await store.get("0123456789abcdef")).toBeUndefined();
  });

  test("a version served to a client is kept in the background, and only up to the size limit", async () => {
    const { store } = storeAt({ maxFileBytes: 100 });
    const small = await version("small\n");
    const large = await version("x".repeat(101));
    store.keepServed(small.hash, small.bytes);
    store.keepServed(large.hash, large.bytes);
    await waitFor(() => store.has(small.hash) || undefined, "the served version in the store");
    expect(await store.get(small.hash)).toEqual(small.bytes);
    expect(store.has(large.hash)).toBe(false);
  });

  test("prunes versions not stored or served again within the age limit", async () => {
    const { store, clock } = storeAt({ maxAgeMs: 14 * DAY });
    const old = await version("old\n");
    const renewed = await version("renewed\n");
    const fresh = await version("fresh\n");
    await store.put(old.hash, old.bytes);
    await store.put(renewed.hash, renewed.bytes);
    clock.now += 10 * DAY;
    await store.put(renewed.hash, renewed.bytes);
    await store.put(fresh.hash, fresh.bytes);
    clock.now += 5 * DAY;
    expect(store.prune()).toEqual(expect.objectContaining({ removed: 1, keptFiles: 2 }));
    expect([store.has(old.hash), store.has(renewed.hash), store.has(fresh.hash)]).toEqual([false, true, true]);
  });

  test("prunes the oldest versions until the rest fit in the size limit", async () => {
    const { store, clock } = storeAt();
    const vs = [];
    for (let i = 0; i < 4; i++) {
      const v = await version(`version ${i} ${"y".repeat(i * 7)}\n`);
      await store.put(v.hash, v.bytes);
      vs.push(v);
      clock.now += 1000;
    }
    const sizes = vs.map((v) => statSync(`${store.dir}/${v.hash}.gz`).size);
    const limited = new VersionStore(store.dir, { maxBytes: sizes[2]! + sizes[3]! }, () => clock.now);
    expect(limited.prune()).toEqual({ removed: 2, keptFiles: 2, keptBytes: sizes[2]! + sizes[3]! });
    expect(vs.map((v) => limited.has(v.hash))).toEqual([false, false, true, true]);
    expect(limited.size()).toEqual({ files: 2, bytes: sizes[2]! + sizes[3]! });
  });

  test("pruning a store that was never written is a no-op", () => {
    const { store } = storeAt();
    expect(store.prune()).toEqual({ removed: 0, keptFiles: 0, keptBytes: 0 });
    expect(existsSync(store.dir)).toBe(false);
  });
});

describe("keeping a file of E's in the version store", () => {
  test("streams the file in and gives it back; a file that no longer has the hash is not kept", async () => {
    const { store } = storeAt();
    const dir = tempDir("zync-e-");
    const text = "kept when an apply replaced it\n".repeat(5000);
    writeFileSync(`${dir}/f.txt`, text);
    const hash = await hashBytes(Buffer.from(text));
    expect(await store.putFile(hash, `${dir}/f.txt`)).toBe(true);
    expect((await store.get(hash))?.toString()).toBe(text);
    writeFileSync(`${dir}/g.txt`, "changed meanwhile\n");
    const other = await hashBytes(Buffer.from("what the review saw\n"));
    expect(await store.putFile(other, `${dir}/g.txt`)).toBe(false);
    expect(store.has(other)).toBe(false);
    expect(readdirSync(store.dir)).toEqual([`${hash}.gz`]);
  });
});

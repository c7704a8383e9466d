import { afterAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createHasher, hashBytes, hashFile } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

const HEX16 = /^[0-9a-f]{16}$/;

describe("content hashes", () => {
  test("hashFile equals hashBytes for the same content, and reports the size", async () => {
    const dir = tempDir();
    const bytes = Buffer.from("export const x = 1;\nü\n");
    writeFileSync(`${dir}/f`, bytes);
    expect(await hashFile(`${dir}/f`)).toEqual({ hash: await hashBytes(bytes), size: bytes.byteLength });
  });

  test("hashFile equals hashBytes for a file larger than its read buffer", async () => {
    const dir = tempDir();
    const bytes = randomBytes(2 * 1024 * 1024 + 12345);
    writeFileSync(`${dir}/big`, bytes);
    expect(await hashFile(`${dir}/big`)).toEqual({ hash: await hashBytes(bytes), size: bytes.byteLength });
  });

  test("the empty file hashes like empty bytes, to XXH64's known value, with size 0", async () => {
    const dir = tempDir();
    writeFileSync(`${dir}/empty`, "");
    expect(await hashBytes(new Uint8Array())).toBe("ef46db3751d8e999");
    expect(await hashFile(`${dir}/empty`)).toEqual({ hash: "ef46db3751d8e999", size: 0 });
  });

  test("the output is stable: XXH64 (seed 0), the protocol's test vectors", async () => {
    expect(await hashBytes(Buffer.from("hello\n"))).toBe("e4c191d091bd8853");
    expect(await hashBytes(Buffer.from("hello, world\n"))).toBe("abdc2a61f1f91f4c");
    expect(await hashBytes(Buffer.from("abc"))).toBe("44bc2cf5ad770999");
    expect(await hashBytes(Buffer.from("abc"))).toBe(await hashBytes(new Uint8Array([97, 98, 99])));
  });

  test("every hash is exactly 16 lowercase hex digits, leading zeros kept", async () => {
    const hashes = await Promise.all(Array.from({ length: 300 }, (_, i) => hashBytes(Buffer.from(`input ${i}`))));
    for (const h of hashes) expect(h).toMatch(HEX16);
    // Some of these start with a zero nibble, so dropping leading zeros would show.
    expect(hashes.some((h) => h.startsWith("0"))).toBe(true);
  });

  test("different content gives a different hash", async () => {
    expect(await hashBytes(Buffer.from("a"))).not.toBe(await hashBytes(Buffer.from("b")));
    expect(await hashBytes(Buffer.from("a"))).not.toBe(await hashBytes(Buffer.from("a\n")));
  });

  test("a streaming hasher fed in pieces equals hashing the whole", async () => {
    const bytes = randomBytes(100_000);
    const h = await createHasher();
    for (let i = 0; i < bytes.length; i += 7_777) h.update(bytes.subarray(i, i + 7_777));
    expect(h.digest()).toBe(await hashBytes(bytes));
  });

  test("hashFile of a missing file rejects with ENOENT", async () => {
    await expect(hashFile(`${tempDir()}/missing`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

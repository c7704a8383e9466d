import { afterAll, afterEach, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DatabaseBusyError, lockDatabase } from "@zync/node";
import type { Spawned } from "../../helpers/bins.js";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";
import { waitFor } from "../../helpers/waitFor.js";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));

/** A separate node process that takes the lock, says "locked", and releases it when it reads a line. */
const HOLDER = `
import { lockDatabase } from "@zync/node";
const release = lockDatabase(process.argv[1]);
process.stdout.write("locked\\n");
process.stdin.once("data", () => { release(); process.stdout.write("released\\n"); process.exit(0); });
`;

const holders: Spawned[] = [];

async function startHolder(db: string): Promise<Spawned> {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", HOLDER, db], { cwd: repo, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on("close", (code, signal) => resolve(code ?? signal ?? -1)));
  const holder: Spawned = { proc, stdout: () => out, stderr: () => err, exited };
  holders.push(holder);
  await Promise.race([
    waitFor(() => out.includes("locked"), "the holder to take the lock"),
    exited.then((code) => Promise.reject(new Error(`holder exited ${code}: ${err}`))),
  ]);
  return holder;
}

afterEach(async () => {
  for (const h of holders.splice(0)) {
    if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill("SIGKILL");
    await h.exited;
  }
});
afterAll(removeTempDirs);

describe("lockDatabase", () => {
  test("a second lock is refused with DatabaseBusyError while another process holds the first", async () => {
    const db = `${tempDir()}/sync.db`;
    const holder = await startHolder(db);
    let thrown: unknown;
    try {
      lockDatabase(db);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DatabaseBusyError);
    expect((thrown as Error).message).toContain(`pid ${holder.proc.pid}`);
    expect((thrown as Error).message).toContain(db);
    // The refused attempt leaves the holder's lock alone.
    expect(readFileSync(`${db}.lock`, "utf8").trim()).toBe(String(holder.proc.pid));
  });

  test("once the holder releases, the lock can be taken", async () => {
    const db = `${tempDir()}/sync.db`;
    const holder = await startHolder(db);
    holder.proc.stdin!.write("go\n");
    expect(await holder.exited).toBe(0);
    expect(existsSync(`${db}.lock`)).toBe(false);
    const release = lockDatabase(db);
    release();
  });

  test("a lock left by a process that died is taken over", async () => {
    const db = `${tempDir()}/sync.db`;
    const holder = await startHolder(db);
    holder.proc.kill("SIGKILL");
    await holder.exited;
    expect(readFileSync(`${db}.lock`, "utf8").trim()).toBe(String(holder.proc.pid));
    const release = lockDatabase(db);
    expect(readFileSync(`${db}.lock`, "utf8").trim()).toBe(String(process.pid));
    release();
    expect(existsSync(`${db}.lock`)).toBe(false);
  });

  test("a lock file that holds no pid is taken over", () => {
    const db = `${tempDir()}/sync.db`;
    writeFileSync(`${db}.lock`, "garbage\n");
    const release = lockDatabase(db);
    expect(readFileSync(`${db}.lock`, "utf8").trim()).toBe(String(process.pid));
    release();
  });

  test("the lock file holds the owner's pid and release removes it", () => {
    const db = `${tempDir()}/sync.db`;
    const release = lockDatabase(db);
    expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(`${db}.lock`)).toBe(false);
    lockDatabase(db)();
  });

  test("a lock for a database in a folder that does not exist yet creates the folder and takes the lock", () => {
    const db = `${tempDir()}/no/such/dir/sync.db`;
    const release = lockDatabase(db);
    expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(`${db}.lock`)).toBe(false);
  });
});

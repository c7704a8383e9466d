import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { IGNORE_FILE, loadIgnoreRules, scanTree, TEMP_DIR, type ScannedEntry } from "@zync/node";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

async function scan(root: string, under = "", extra: string[] = []): Promise<ScannedEntry[]> {
  const out: ScannedEntry[] = [];
  for await (const e of scanTree(root, loadIgnoreRules(root, extra), under)) out.push(e);
  return out;
}

function sampleTree(): string {
  const root = tempDir();
  mkdirSync(`${root}/src/deep/deeper`, { recursive: true });
  mkdirSync(`${root}/src/empty`);
  mkdirSync(`${root}/b`);
  writeFileSync(`${root}/README.md`, "# r\n");
  writeFileSync(`${root}/b/x.txt`, "x");
  writeFileSync(`${root}/src/main.ts`, "m");
  writeFileSync(`${root}/src/deep/deeper/leaf.txt`, "leaf");
  writeFileSync(`${root}/src/deep/a file ü.txt`, "ü");
  return root;
}

describe("scanTree", () => {
  test("yields every file and folder once, each parent before its children", async () => {
    const root = sampleTree();
    const entries = await scan(root);
    const paths = entries.map((e) => e.path);
    expect([...paths].sort()).toEqual(
      ["README.md", "b", "b/x.txt", "src", "src/deep", "src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt", "src/empty", "src/main.ts"].sort(),
    );
    expect(new Set(paths).size).toBe(paths.length);
    paths.forEach((p, i) => {
      const slash = p.lastIndexOf("/");
      if (slash > 0) expect(paths.indexOf(p.slice(0, slash))).toBeLessThan(i);
    });
  });

  test("reports each entry's kind, size and mode from lstat", async () => {
    const root = sampleTree();
    chmodSync(`${root}/README.md`, 0o755);
    const byPath = new Map((await scan(root)).map((e) => [e.path, e.key]));
    expect(byPath.get("README.md")).toMatchObject({ kind: "file", size: 4, mode: 0o755 });
    expect(byPath.get("src")).toMatchObject({ kind: "dir", size: 0 });
    expect(Number.isInteger(byPath.get("README.md")?.mtimeMs)).toBe(true);
  });

  test("applies ignore rules: ignored folders are not entered", async () => {
    const root = sampleTree();
    mkdirSync(`${root}/node_modules/pkg`, { recursive: true });
    writeFileSync(`${root}/node_modules/pkg/index.js`, "x");
    mkdirSync(`${root}/src/node_modules`);
    writeFileSync(`${root}/src/node_modules/y.js`, "y");
    mkdirSync(`${root}/.git`);
    writeFileSync(`${root}/.git/HEAD`, "ref");
    mkdirSync(`${root}/${TEMP_DIR}`);
    writeFileSync(`${root}/${TEMP_DIR}/123-abc`, "partial");
    writeFileSync(`${root}/src/main.ts.swp`, "swap");
    writeFileSync(`${root}/${IGNORE_FILE}`, "*.log\nbuild/\n");
    writeFileSync(`${root}/debug.log`, "log");
    mkdirSync(`${root}/build`);
    writeFileSync(`${root}/build/out.js`, "o");
    writeFileSync(`${root}/extra.bak`, "b");
    const paths = (await scan(root, "", ["*.bak"])).map((e) => e.path);
    expect(paths).toContain(IGNORE_FILE);
    for (const p of paths) expect(p).not.toMatch(/node_modules|\.git|\.zync-tmp|\.swp$|\.log$|^build|\.bak$/);
    expect(paths).toContain("src/main.ts");
  });

  test("yields a symlink as a link and never follows it", async () => {
    const root = sampleTree();
    const outside = tempDir();
    writeFileSync(`${outside}/secret`, "s");
    symlinkSync(outside, `${root}/out-link`);
    symlinkSync("src", `${root}/in-link`);
    symlinkSync("nowhere", `${root}/dangling`);
    const entries = await scan(root);
    const byPath = new Map(entries.map((e) => [e.path, e.key.kind]));
    expect(byPath.get("out-link")).toBe("symlink");
    expect(byPath.get("in-link")).toBe("symlink");
    expect(byPath.get("dangling")).toBe("symlink");
    expect(entries.filter((e) => e.path.startsWith("out-link/") || e.path.startsWith("in-link/"))).toEqual([]);
  });

  test("leaves out kinds zync does not sync, such as a FIFO", async () => {
    const root = sampleTree();
    execFileSync("mkfifo", [`${root}/pipe`]);
    expect((await scan(root)).map((e) => e.path)).not.toContain("pipe");
  });

  test("with `under`, yields only what lies below that folder", async () => {
    const root = sampleTree();
    const paths = (await scan(root, "src/deep")).map((e) => e.path);
    expect([...paths].sort()).toEqual(["src/deep/a file ü.txt", "src/deep/deeper", "src/deep/deeper/leaf.txt"]);
  });

  test("a missing `under` folder yields nothing", async () => {
    expect(await scan(sampleTree(), "no/such")).toEqual([]);
  });

  test("an empty root yields nothing", async () => {
    expect(await scan(tempDir())).toEqual([]);
  });
});

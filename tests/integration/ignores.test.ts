import { afterAll, describe, expect, test } from "@jest/globals";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

/** Everything in E that must never reach R (defaults, .zyncignore and the daemon's --ignore). */
function isIgnored(rel: string): boolean {
  const parts = rel.split("/");
  const name = parts[parts.length - 1]!;
  return (
    parts.includes(".git") ||
    parts.includes("node_modules") ||
    parts.includes("build") ||
    name.endsWith(".swp") ||
    name.endsWith("~") ||
    name.endsWith(".log") ||
    rel === "secret.txt"
  );
}

function write(path: string, text: string): void {
  mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  writeFileSync(path, text);
}

describe("ignores", () => {
  test("default ignores, .zyncignore patterns and the daemon's --ignore keep paths away from R; a later pattern does not delete R's copy", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    write(`${e}/.zyncignore`, "build/\n*.log\n");
    write(`${e}/README.md`, "# kept\n");
    write(`${e}/notes.md`, "synced first, ignored later\n");
    write(`${e}/src/main.ts`, "export {};\n");
    // Default ignores, at the top and deeper down.
    write(`${e}/.git/HEAD`, "ref: refs/heads/main\n");
    write(`${e}/.git/objects/ab/cdef`, "blob\n");
    write(`${e}/node_modules/pkg/index.js`, "module.exports = 1;\n");
    write(`${e}/src/node_modules/inner/index.js`, "module.exports = 2;\n");
    write(`${e}/.main.ts.swp`, "vim swap\n");
    write(`${e}/src/.util.ts.swp`, "vim swap\n");
    write(`${e}/README.md~`, "backup\n");
    write(`${e}/src/main.ts~`, "backup\n");
    // .zyncignore patterns.
    write(`${e}/build/out.js`, "compiled\n");
    write(`${e}/src/build/deep.js`, "compiled\n");
    write(`${e}/app.log`, "log line\n");
    write(`${e}/src/debug.log`, "log line\n");
    // The daemon's --ignore.
    write(`${e}/secret.txt`, "password\n");
    write(`${e}/src/secret.txt.bak`, "not matched by secret.txt\n");

    const clientDb = `${tempDir()}/client.db`;
    const daemon = await startTestDaemon([`code:${e}`], { args: ["--ignore", "secret.txt"] });
    try {
      const first = await runClientOnce(daemon, clientDb, [`code:${r}`]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const wanted = snapshotTree(e, isIgnored);
      // The test's own list of ignored paths matches what it wrote (so the comparison below is not vacuous).
      expect(Object.keys(wanted).sort()).toEqual([".zyncignore", "README.md", "notes.md", "src", "src/main.ts", "src/secret.txt.bak"]);
      expect(snapshotTree(r)).toEqual(wanted);

      // Ignored paths created while the daemon runs stay away too; a marker written (and sorted) last shows the
      // daemon got that far.
      write(`${e}/.git/refs/heads/main`, "0123\n");
      write(`${e}/node_modules/pkg2/index.js`, "later\n");
      write(`${e}/later.swp`, "swap\n");
      write(`${e}/later.txt~`, "backup\n");
      write(`${e}/build/later.js`, "compiled\n");
      write(`${e}/later.log`, "log\n");
      appendFileSync(`${e}/secret.txt`, "another password\n");
      write(`${e}/zz-marker-1.txt`, "after the ignored ones\n");
      await waitFor(
        async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && existsSync(`${r}/zz-marker-1.txt`),
        "zz-marker-1.txt on R",
        20_000,
        100,
      );
      expect(snapshotTree(r)).toEqual(snapshotTree(e, isIgnored));

      // A pattern added later keeps further changes away but does not delete what R already has.
      appendFileSync(`${e}/.zyncignore`, "notes.md\n");
      const newRules = readFileSync(`${e}/.zyncignore`, "utf8");
      await waitFor(
        async () => (await runClientOnce(daemon, clientDb, [`code:${r}`])).code === 0 && existsSync(`${r}/.zyncignore`) && readFileSync(`${r}/.zyncignore`, "utf8") === newRules,
        "the new .zyncignore on R",
        20_000,
        100,
      );
      expect(readFileSync(`${r}/notes.md`, "utf8")).toBe("synced first, ignored later\n");

      writeFileSync(`${e}/notes.md`, "changed on E after it was ignored\n");
      write(`${e}/zz-marker-2.txt`, "after the notes change\n");
      let last = { code: -1 as number | string, stdout: "", stderr: "" };
      await waitFor(
        async () => {
          last = await runClientOnce(daemon, clientDb, [`code:${r}`]);
          return last.code === 0 && existsSync(`${r}/zz-marker-2.txt`);
        },
        "zz-marker-2.txt on R",
        20_000,
        100,
      );
      expect(last.stderr).toBe("");
      expect(readFileSync(`${r}/notes.md`, "utf8")).toBe("synced first, ignored later\n");
      const alsoNotes = (rel: string): boolean => isIgnored(rel) || rel === "notes.md";
      expect(snapshotTree(r, alsoNotes)).toEqual(snapshotTree(e, alsoNotes));
    } finally {
      await daemon.stop();
    }
  });
});

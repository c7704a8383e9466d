import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

describe("initial sync", () => {
  test("a fresh client receives files, empty folders, modes, links and unicode names", async () => {
    const e = tempDir();
    const r = `${tempDir()}/target`;
    mkdirSync(`${e}/src/deep/empty`, { recursive: true });
    writeFileSync(`${e}/README.md`, "# hello\n");
    writeFileSync(`${e}/src/main file ü.ts`, "export const x = 1;\n");
    writeFileSync(`${e}/empty.txt`, "");
    writeFileSync(`${e}/run.sh`, "#!/bin/sh\necho hi\n");
    chmodSync(`${e}/run.sh`, 0o755);
    symlinkSync("../README.md", `${e}/src/readme-link`);
    symlinkSync("/etc/hostname", `${e}/outside-link`);
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const res = await runClientOnce(daemon, `${tempDir()}/client.db`, [`code:${r}`]);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { runClientOnce, startTestDaemon } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";

afterAll(removeTempDirs);

/** Node code for a process that keeps swapping folders d0..dN for files, symlink loops and back until killed. */
const CHURNER = `
const fs = require("node:fs");
const [root, n] = [process.argv[1], Number(process.argv[2])];
let i = 0;
for (;;) {
  const p = root + "/d" + (i++ % n);
  try {
    fs.rmSync(p, { recursive: true, force: true });
    const k = i % 3;
    if (k === 0) fs.writeFileSync(p, "now a file\\n");
    else if (k === 1) fs.symlinkSync(p, p);
    else { fs.mkdirSync(p + "/inner", { recursive: true }); fs.writeFileSync(p + "/inner/f", "x"); }
  } catch {}
}`;

describe("the daemon always starts", () => {
  test("a symlink whose target runs through a file does not keep the daemon from listening, and is synced as a link", async () => {
    const e = tempDir("zync-e-");
    writeFileSync(`${e}/a`, "hi\n");
    symlinkSync("a/x", `${e}/l`);
    mkdirSync(`${e}/dir`);
    symlinkSync("../a/x/y", `${e}/dir/deeper`);
    const daemon = await startTestDaemon([`code:${e}`]);
    try {
      const r = `${tempDir("zync-r-")}/code`;
      const run = await runClientOnce(daemon, `${tempDir("zync-client-")}/client.db`, [`code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon.stop();
    }
  });

  test("folders being replaced by files and symlink loops during the start-up scan never keep the daemon from listening", async () => {
    const e = tempDir("zync-e-");
    const n = 60;
    for (let i = 0; i < n; i++) {
      mkdirSync(`${e}/d${i}/inner`, { recursive: true });
      for (let j = 0; j < 20; j++) writeFileSync(`${e}/d${i}/inner/f${j}`, `file ${j}\n`);
    }
    const churner = spawn(process.execPath, ["-e", CHURNER, e, String(n)], { stdio: "ignore" });
    try {
      for (let round = 0; round < 4; round++) {
        const daemon = await startTestDaemon([`code:${e}`]);
        expect(daemon.stdout()).toMatch(/listening on ws:\/\//);
        await daemon.stop();
        expect(daemon.stderr()).not.toMatch(/TypeError|    at /);
      }
    } finally {
      churner.kill("SIGKILL");
    }
  });
});

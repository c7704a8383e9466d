import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, writeFileSync } from "node:fs";
import { WebSocketServer } from "ws";
import { BIN, runBin, writeToken } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

/** Something else listening on R's forwarded port (the tunnel being down): it accepts anyone and answers HELLO. */
async function impostor(answer: (hello: Record<string, unknown>) => object | undefined): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const reply = answer(JSON.parse(data.toString()) as Record<string, unknown>);
      if (reply) ws.send(JSON.stringify(reply));
    });
  });
  await new Promise((r) => wss.once("listening", r));
  const addr = wss.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `ws://127.0.0.1:${port}`, close: () => new Promise((r) => wss.close(() => r(undefined))) };
}

const welcome = { type: "WELCOME", version: 1, epoch: "fake", head: 1, horizon: 0, roots: ["code"] };

describe("a client only trusts a daemon that proves it knows the token", () => {
  test("a server that answers HELLO without the proof is refused before anything is written", async () => {
    const fake = await impostor((hello) => (hello.type === "HELLO" ? welcome : undefined));
    const r = tempDir();
    writeFileSync(`${r}/mine.txt`, "R's file\n");
    const tokenFile = writeToken(`${tempDir()}/token`, "s3cret-token");
    try {
      const res = await runBin(BIN.client, ["--once", "--server", fake.url, "--token-file", tokenFile, "--db", `${tempDir()}/c.db`, "--dirs", `code:${r}`]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/could not prove it knows the token/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(`${r}/mine.txt`)).toBe(true);
    } finally {
      await fake.close();
    }
  });

  test("a server that answers with a wrong proof is refused too", async () => {
    const fake = await impostor((hello) => (hello.type === "HELLO" ? { ...welcome, proof: "0".repeat(64) } : undefined));
    const tokenFile = writeToken(`${tempDir()}/token`, "s3cret-token");
    try {
      const res = await runBin(BIN.client, ["--once", "--server", fake.url, "--token-file", tokenFile, "--db", `${tempDir()}/c.db`, "--dirs", `code:${tempDir()}`]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/could not prove it knows the token/);
    } finally {
      await fake.close();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { startClient, startTestDaemon } from "../helpers/bins.js";
import { startCountingRelay, type Tamper } from "../helpers/countingRelay.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

function contentOf(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** A daemon serving `files` in root code, a relay in front of it, and a live client through the relay. */
async function rig(files: Record<string, string>, tamper: Tamper = {}) {
  const e = tempDir();
  const r = `${tempDir()}/target`;
  for (const [p, text] of Object.entries(files)) writeFileSync(`${e}/${p}`, text);
  const daemon = await startTestDaemon([`code:${e}`]);
  const relay = await startCountingRelay(daemon.url, tamper);
  // An interval of an hour: only the daemon's push or notice can explain a quick update.
  const client = startClient(relay.url, daemon.tokenFile, `${tempDir()}/client.db`, [`code:${r}`], ["--interval", "3600", "--verbose"]);
  const requests = (type: string): number => relay.fromClients.get(type) ?? 0;
  const stop = async (): Promise<void> => {
    await client.stop();
    await relay.close();
    await daemon.stop();
  };
  return { e, r, daemon, relay, client, requests, stop };
}

describe("live push", () => {
  test("a save on E reaches a live client without any GET_CHANGES or GET_FILE on the wire", async () => {
    const t = await rig({ "first.txt": "first\n" });
    try {
      await waitFor(() => contentOf(`${t.r}/first.txt`) === "first\n", "the first sync");
      // The first pass is over once its acknowledgement went out.
      await waitFor(() => t.requests("ACK_CHANGES") >= 1, "the first pass's ACK");
      const changes = t.requests("GET_CHANGES");
      const files = t.requests("GET_FILE");
      writeFileSync(`${t.e}/saved.txt`, "saved on E\n");
      writeFileSync(`${t.e}/first.txt`, "first, edited\n");
      await waitFor(() => contentOf(`${t.r}/saved.txt`) === "saved on E\n" && contentOf(`${t.r}/first.txt`) === "first, edited\n", "the saves on R");
      expect(t.relay.fromDaemon.get("PUSH") ?? 0).toBeGreaterThanOrEqual(1);
      expect(t.requests("GET_CHANGES")).toBe(changes);
      expect(t.requests("GET_FILE")).toBe(files);
    } finally {
      await t.stop();
    }
  });

  test("a push that does not continue from the client's cursor is ignored and the client pulls", async () => {
    // The relay moves every push's cursor back: it no longer continues from what the client holds.
    const t = await rig({ "first.txt": "first\n" }, {
      toClient: (data, binary) => {
        if (binary) return data;
        const msg = JSON.parse(data.toString("utf8")) as { type: string; since?: number };
        if (msg.type !== "PUSH") return data;
        return Buffer.from(JSON.stringify({ ...msg, since: Math.max(0, (msg.since ?? 0) - 1) }));
      },
    });
    try {
      await waitFor(() => t.requests("ACK_CHANGES") >= 1, "the first pass's ACK");
      const changes = t.requests("GET_CHANGES");
      writeFileSync(`${t.e}/gap.txt`, "after a gap\n");
      await waitFor(() => contentOf(`${t.r}/gap.txt`) === "after a gap\n", "gap.txt on R");
      expect(t.relay.fromDaemon.get("PUSH") ?? 0).toBeGreaterThanOrEqual(1);
      expect(t.requests("GET_CHANGES")).toBeGreaterThan(changes);
    } finally {
      await t.stop();
    }
  });

  test("pushed content that does not match its hash is never placed: the client fetches the file instead", async () => {
    const corrupt = (data: Buffer): Buffer => {
      const out = Buffer.from(data);
      out[out.length - 1] = out[out.length - 1]! ^ 0xff;
      return out;
    };
    // The relay damages the last byte of every pushed data frame (stream ids with the top bit set).
    const t = await rig({ "first.txt": "first\n" }, { toClient: (data, binary) => (binary && data.readUInt32BE(1) >= 0x80000000 ? corrupt(data) : data) });
    try {
      await waitFor(() => t.requests("ACK_CHANGES") >= 1, "the first pass's ACK");
      const files = t.requests("GET_FILE");
      const text = "content the push damages\n";
      writeFileSync(`${t.e}/damaged.txt`, text);
      const damaged = corrupt(Buffer.from(text)).toString("utf8");
      await waitFor(() => {
        const now = contentOf(`${t.r}/damaged.txt`);
        if (now === damaged) throw new Error("the damaged content was placed");
        return now === text;
      }, "damaged.txt on R with E's content");
      expect(t.relay.fromDaemon.get("PUSH") ?? 0).toBeGreaterThanOrEqual(1);
      expect(t.requests("GET_FILE")).toBeGreaterThan(files);
    } finally {
      await t.stop();
    }
  });

  test("an edit on R to a path a push touches becomes a conflict, and R's version stays", async () => {
    const t = await rig({ "shared.txt": "from E\n" });
    try {
      await waitFor(() => t.requests("ACK_CHANGES") >= 1 && contentOf(`${t.r}/shared.txt`) === "from E\n", "the first sync");
      const changes = t.requests("GET_CHANGES");
      writeFileSync(`${t.r}/shared.txt`, "edited on R\n");
      writeFileSync(`${t.e}/shared.txt`, "edited on E\n");
      await waitFor(() => /conflict: code\/shared\.txt/.exec(t.client.stdout() + t.client.stderr()), "the conflict report");
      expect(contentOf(`${t.r}/shared.txt`)).toBe("edited on R\n");
      expect(t.relay.fromDaemon.get("PUSH") ?? 0).toBeGreaterThanOrEqual(1);
      expect(t.requests("GET_CHANGES")).toBe(changes);
    } finally {
      await t.stop();
    }
  });

  test("a live client that does not offer push is told CHANGED and pulls, as before", async () => {
    // The relay takes "push" out of the client's offer.
    const t = await rig({ "first.txt": "first\n" }, {
      toDaemon: (text) => {
        const msg = JSON.parse(text) as { type: string; features?: string[] };
        return msg.type === "HELLO" ? JSON.stringify({ ...msg, features: (msg.features ?? []).filter((f) => f !== "push") }) : text;
      },
    });
    try {
      await waitFor(() => t.requests("ACK_CHANGES") >= 1, "the first pass's ACK");
      const changes = t.requests("GET_CHANGES");
      const files = t.requests("GET_FILE");
      writeFileSync(`${t.e}/plain.txt`, "pulled as before\n");
      await waitFor(() => contentOf(`${t.r}/plain.txt`) === "pulled as before\n", "plain.txt on R");
      expect(t.relay.fromDaemon.get("PUSH") ?? 0).toBe(0);
      expect(t.relay.fromDaemon.get("CHANGED") ?? 0).toBeGreaterThanOrEqual(1);
      expect(t.requests("GET_CHANGES")).toBeGreaterThan(changes);
      expect(t.requests("GET_FILE")).toBeGreaterThan(files);
    } finally {
      await t.stop();
    }
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { startTestDaemon } from "../helpers/bins.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

describe("feature push on the wire", () => {
  test("a live connection that agreed push gets the changes after its last page and the file's content on a stream the daemon started", async () => {
    const e = tempDir();
    writeFileSync(`${e}/old.txt`, "old\n");
    const daemon = await startTestDaemon([`code:${e}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { live: true, features: ["push"] });
    try {
      expect(sock.welcome?.features).toEqual(["push"]);
      const { reply: page } = await sock.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "code" });
      expect(page.more).toBe(false);
      const from = sock.frames.length;
      writeFileSync(`${e}/new.txt`, "pushed\n");
      const push = await sock.nextText(from, (m) => m.type === "PUSH", "a PUSH");
      expect(push.root).toBe("code");
      expect(push.since).toBe(page.next);
      const changes = push.changes as { path: string; state: { hash: string } }[];
      expect(changes.map((c) => c.path)).toEqual(["new.txt"]);
      const streams = push.streams as { id: number; path: string }[];
      expect(streams).toHaveLength(1);
      const id = streams[0]!.id;
      expect(id).toBeGreaterThanOrEqual(0x80000000);
      const end = await sock.nextText(from, (m) => m.type === "FILE_END" && m.id === id, "the pushed stream's FILE_END");
      const data = Buffer.concat(sock.binariesFrom(from).filter((f) => f[0] === 1 && f.readUInt32BE(1) === id).map((f) => f.subarray(5)));
      expect(data.toString("utf8")).toBe("pushed\n");
      expect(end.hash).toBe(await hashBytes(data));
      expect(end.hash).toBe(changes[0]!.state.hash);
      // Nothing asked, nothing but the push: no CHANGED notice as well.
      expect(sock.frames.slice(from).some((f) => !f.binary && f.json?.type === "CHANGED")).toBe(false);
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });

  test("changes in a root the client has not read to the end are announced with CHANGED, those of a root it has are pushed", async () => {
    const a = tempDir();
    const b = tempDir();
    const daemon = await startTestDaemon([`a:${a}`, `b:${b}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { live: true, features: ["push"] });
    try {
      await sock.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "a" });
      let from = sock.frames.length;
      writeFileSync(`${b}/in-b.txt`, "b\n");
      await sock.nextText(from, (m) => m.type === "CHANGED", "a CHANGED notice for root b");
      expect(sock.frames.slice(from).some((f) => !f.binary && f.json?.type === "PUSH")).toBe(false);
      from = sock.frames.length;
      writeFileSync(`${a}/in-a.txt`, "a\n");
      const push = await sock.nextText(from, (m) => m.type === "PUSH", "a PUSH for root a");
      expect(push.root).toBe("a");
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });

  test("a live connection that did not offer push is told CHANGED and nothing else, as before", async () => {
    const e = tempDir();
    const daemon = await startTestDaemon([`code:${e}`]);
    const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile), { live: true });
    try {
      expect(sock.welcome?.features).toEqual([]);
      await sock.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "code" });
      const from = sock.frames.length;
      writeFileSync(`${e}/new.txt`, "not pushed\n");
      await sock.nextText(from, (m) => m.type === "CHANGED", "a CHANGED notice");
      expect(sock.frames.slice(from).every((f) => !f.binary && f.json?.type === "CHANGED")).toBe(true);
    } finally {
      await sock.close();
      await daemon.stop();
    }
  });
});

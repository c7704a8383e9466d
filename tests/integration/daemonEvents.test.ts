import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { BIN, runBin, spawnBin, startClient } from "../helpers/bins.js";
import { eventsOf, type JsonEvent } from "../helpers/jsonLines.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

type Event = JsonEvent;

describe("--json events of a running daemon and a live client", () => {
  test("the daemon reports clients, recorded changes, halts and staged sessions; the client reports the halt too", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const outside = tempDir();
    const state = tempDir("zync-daemon-");
    const db = `${state}/sync.db`;
    const tokenFile = `${db}.token`;
    const clientDb = `${tempDir()}/c.db`;
    mkdirSync(`${e}/src`);
    for (let i = 0; i < 40; i++) writeFileSync(`${e}/src/f${i}.txt`, `file ${i}\n`);
    const daemon = spawnBin(BIN.daemon, ["--json", "--port", "0", "--db", db, "--token-file", tokenFile, "--rescan-interval", "1", "--dirs", `code:${e}`]);
    const dEvents = (): Event[] => eventsOf(daemon.stdout());
    const dHas = (pred: (ev: Event) => boolean): Event | undefined => dEvents().find(pred);
    let client: ReturnType<typeof startClient> | undefined;
    try {
      const listening = await waitFor(() => dHas((ev) => ev.event === "listening"), "the daemon's listening event");
      const url = listening.url as string;
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(daemon.stderr()).toContain(`listening on ${url}`);
      // The start-up scan recorded the root's files.
      expect(dEvents().filter((ev) => ev.event === "changes-recorded").reduce((n, ev) => n + ((ev.roots as Record<string, number>).code ?? 0), 0)).toBeGreaterThanOrEqual(41);

      client = startClient(url, tokenFile, clientDb, [`code:${r}`], ["--json"]);
      const live = client;
      const cHas = (pred: (ev: Event) => boolean): Event | undefined => eventsOf(live.stdout()).find(pred);
      await waitFor(() => cHas((ev) => ev.event === "pass-finished" && ev.written === 41), "the client's first pass");
      const connected = await waitFor(() => dHas((ev) => ev.event === "client-connected"), "the daemon's client-connected event");
      expect(connected).toMatchObject({ client: expect.any(String), address: expect.stringMatching(/127\.0\.0\.1/) });

      const before = dEvents().length;
      writeFileSync(`${e}/new.txt`, "new\n");
      await waitFor(() => dEvents().slice(before).find((ev) => ev.event === "changes-recorded" && (ev.roots as Record<string, number>).code === 1), "the recorded save");

      renameSync(`${e}/src`, `${outside}/away`);
      await waitFor(() => dHas((ev) => ev.event === "halted" && ev.root === "code"), "the daemon's halted event");
      await waitFor(() => cHas((ev) => ev.event === "halted" && ev.root === "code" && typeof ev.reason === "string"), "the client's halted event");
      renameSync(`${outside}/away`, `${e}/src`);
      await waitFor(() => dHas((ev) => ev.event === "resumed" && ev.root === "code"), "the daemon's resumed event");
      await waitFor(() => cHas((ev) => ev.event === "resumed" && ev.root === "code"), "the client's resumed event");

      // A push from R: a one-shot connection comes and goes, and its session is staged.
      await client.stop();
      client = undefined;
      await waitFor(() => dHas((ev) => ev.event === "client-disconnected" && ev.client === connected.client), "the live client's disconnect");
      writeFileSync(`${r}/from-r.txt`, "R's own\n");
      const push = await runBin(BIN.client, ["--update-upstream", "--server", url, "--token-file", tokenFile, "--db", clientDb, "--dirs", `code:${r}`]);
      expect(push.code).toBe(0);
      await waitFor(() => dHas((ev) => ev.event === "session-staged"), "the staged session's event");
      expect(dHas((ev) => ev.event === "session-staged")).toMatchObject({ session: expect.any(Number), root: "code", changes: 1, client: connected.client });
      expect(dEvents().every((ev) => typeof ev.time === "string" && !Number.isNaN(Date.parse(ev.time)))).toBe(true);
    } finally {
      await client?.stop();
      if (daemon.proc.exitCode === null) daemon.proc.kill("SIGTERM");
      await daemon.exited;
    }
  });
});

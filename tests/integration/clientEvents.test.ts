import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { startClient } from "../helpers/bins.js";
import { freePort, startDaemonOnPort } from "../helpers/daemonProc.js";
import { eventsOf, type JsonEvent } from "../helpers/jsonLines.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

type Event = JsonEvent;

describe("zync-client --json on a live client", () => {
  test("prints one JSON object per line per event: passes, applied counts, conflicts, hooks, connection lost and regained", async () => {
    const e = tempDir();
    const r = `${tempDir()}/r`;
    const state = tempDir("zync-daemon-");
    const db = `${state}/sync.db`;
    const tokenFile = `${state}/token`;
    writeFileSync(`${e}/a.txt`, "a\n");
    writeFileSync(`${e}/shared.txt`, "from E\n");
    const port = await freePort();
    const dirs = [`code:${e}`];
    let daemon = await startDaemonOnPort(port, dirs, { db, tokenFile });
    const client = startClient(daemon.url, tokenFile, `${tempDir()}/c.db`, [`code:${r}`], ["--json", "--interval", "3600", "--on-change", "*.txt=exit 4"]);
    const events = (): Event[] => eventsOf(client.stdout());
    const has = (pred: (ev: Event) => boolean): boolean => events().some(pred);
    try {
      await waitFor(() => has((ev) => ev.event === "hook-finished"), "the first pass's hook");
      expect(events()[0]).toMatchObject({ event: "connected", url: daemon.url });
      expect(events().find((ev) => ev.event === "pass-finished" && ev.written === 2)).toMatchObject({ deleted: 0, conflicts: 0, unplaced: 0 });
      expect(events().find((ev) => ev.event === "hook-finished")).toMatchObject({ rule: "*.txt=exit 4", root: "code", files: 2, status: 4, signal: null });
      expect(Number.isNaN(Date.parse(events()[0]!.time))).toBe(false);

      // R edits shared.txt, then E does: a conflict, reported as an event.
      writeFileSync(`${r}/shared.txt`, "from R\n");
      writeFileSync(`${e}/shared.txt`, "from E, changed\n");
      await waitFor(() => has((ev) => ev.event === "conflict" && ev.path === "code/shared.txt"), "the conflict event");
      expect(readFileSync(`${r}/shared.txt`, "utf8")).toBe("from R\n");

      await daemon.stop();
      await waitFor(() => has((ev) => ev.event === "disconnected"), "the disconnected event");
      daemon = await startDaemonOnPort(port, dirs, { db, tokenFile });
      await waitFor(() => events().filter((ev) => ev.event === "connected").length === 2, "the connected event after the restart");
      expect(existsSync(`${r}/a.txt`)).toBe(true);
      // Messages for people went to stderr; stdout held nothing but events.
      expect(client.stderr()).toMatch(/connected to /);
      expect(events().every((ev) => typeof ev.event === "string" && typeof ev.time === "string")).toBe(true);
    } finally {
      await client.stop();
      await daemon.stop();
    }
  });
});

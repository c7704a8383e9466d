import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { hashBytes } from "@zync/node";
import { BIN, runBin, startClient } from "../helpers/bins.js";
import { eventsOf } from "../helpers/jsonLines.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { withUpstreamPair, type UpstreamPair } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const FIVE = "line1\nline2\nline3\nline4\nline5\n";
const MERGED = "line1 E\nline2\nline3\nline4\nline5 R\n";

/** Waits until E's daemon has stored `content` as a version it served for `path` (stored in the background). */
async function versionKept(db: string, path: string, content: string | Buffer): Promise<string> {
  const hash = await hashBytes(Buffer.from(content));
  await waitFor(
    () => {
      const conn = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return conn.prepare("SELECT 1 FROM version_paths WHERE root = 'code' AND path = ? AND hash = ?").get(path, hash) !== undefined || undefined;
      } finally {
        conn.close();
      }
    },
    `the version of ${path} E served, in E's version store`,
  );
  return hash;
}

/** R and E both edit `path` after the first sync; waits until E's daemon recorded E's edit. */
async function editBoth(p: UpstreamPair, path: string, onR: string | Buffer, onE: string | Buffer): Promise<void> {
  writeFileSync(`${p.r}/${path}`, onR);
  writeFileSync(`${p.e}/${path}`, onE);
  await p.daemonCaughtUp();
}

describe("zync-client --merge: a conflict is merged on R when the edits do not overlap", () => {
  test("E changes line 1 and R line 5: R's file gets both, --update-upstream offers it, and zync-apply applies it cleanly", async () => {
    await withUpstreamPair({ "five.txt": FIVE }, async (p) => {
      await versionKept(p.db, "five.txt", FIVE);
      await editBoth(p, "five.txt", FIVE.replace("line5", "line5 R"), FIVE.replace("line1", "line1 E"));

      const run = await p.once(["--merge", "--json"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(run.stdout)).toMatchObject({ merged: ["code/five.txt"], notMerged: [], conflicts: [] });
      expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(MERGED);

      // The merge is R's edit on E's version: offered upstream against E's file, which E still holds.
      const id = await p.pushSession();
      const applied = await p.apply(["apply", String(id), "--non-interactive"]);
      expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(`${p.e}/five.txt`, "utf8")).toBe(MERGED);
    });
  });

  test("the pass summary names the merge, and a later pull leaves R's merged file alone", async () => {
    await withUpstreamPair({ "five.txt": FIVE }, async (p) => {
      await versionKept(p.db, "five.txt", FIVE);
      await editBoth(p, "five.txt", FIVE.replace("line5", "line5 R"), FIVE.replace("line1", "line1 E"));
      const run = await p.once(["--merge"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/merged: code\/five\.txt changed on R and on E; R's file now holds both edits/);
      expect(run.stdout).toMatch(/synced: .*\b1 merged/);
      const again = await p.once();
      expect({ code: again.code, conflict: /conflict/.test(again.stderr) }).toEqual({ code: 0, conflict: false });
      expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(MERGED);
    });
  });

  test("overlapping edits stay a conflict, R's file untouched, and the client says why", async () => {
    await withUpstreamPair({ "five.txt": FIVE }, async (p) => {
      await versionKept(p.db, "five.txt", FIVE);
      await editBoth(p, "five.txt", FIVE.replace("line3", "line3 R"), FIVE.replace("line3", "line3 E"));
      const run = await p.once(["--merge"]);
      expect(run.code).toBe(3);
      expect(run.stderr.match(/not merged: code\/five\.txt: R's and E's edits overlap \(1 place\); it stays a conflict/g)).toHaveLength(1);
      expect(run.stderr).toMatch(/conflict: code\/five\.txt/);
      expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 R"));
    });
  });

  test("a binary file stays a conflict, and the client says it is binary", async () => {
    const bin = Buffer.from("line1\nline2\0\nline3\nline4\nline5\n");
    await withUpstreamPair({ "data.bin": bin.toString("latin1") }, async (p) => {
      await versionKept(p.db, "data.bin", bin);
      await editBoth(p, "data.bin", Buffer.concat([bin, Buffer.from("R\n")]), Buffer.concat([Buffer.from("E\n"), bin]));
      const run = await p.once(["--merge", "--json"]);
      expect(run.code).toBe(3);
      expect(JSON.parse(run.stdout)).toMatchObject({ merged: [], notMerged: [{ path: "code/data.bin", reason: "the file is binary" }], conflicts: ["code/data.bin"] });
      expect(readFileSync(`${p.r}/data.bin`)).toEqual(Buffer.concat([bin, Buffer.from("R\n")]));
    });
  });

  test("a base E no longer has stays a conflict, with the reason", async () => {
    await withUpstreamPair({ "five.txt": FIVE }, async (p) => {
      const baseHash = await versionKept(p.db, "five.txt", FIVE);
      rmSync(`${p.db}.versions/${baseHash}.gz`);
      await editBoth(p, "five.txt", FIVE.replace("line5", "line5 R"), FIVE.replace("line1", "line1 E"));
      const run = await p.once(["--merge", "--json"]);
      expect(run.code).toBe(3);
      expect(JSON.parse(run.stdout)).toMatchObject({
        merged: [],
        notMerged: [{ path: "code/five.txt", reason: "the version both sides started from is not in E's version store" }],
        conflicts: ["code/five.txt"],
      });
      expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(FIVE.replace("line5", "line5 R"));
    });
  });

  test("without feature versions (ZYNC_FEATURES leaves it out) the conflict stays as before, with one sentence why", async () => {
    await withUpstreamPair({ "five.txt": FIVE }, async (p) => {
      await versionKept(p.db, "five.txt", FIVE);
      await editBoth(p, "five.txt", FIVE.replace("line5", "line5 R"), FIVE.replace("line1", "line1 E"));
      const args = ["--once", "--merge", "--server", p.daemon.url, "--token-file", p.daemon.tokenFile, "--db", p.clientDb, "--dirs", `code:${p.r}`];
      const run = await runBin(BIN.client, args, { ZYNC_FEATURES: "delta,push,compress" });
      expect(run.code).toBe(3);
      expect(run.stderr.match(/not merged: code\/five\.txt: E's daemon does not offer stored versions/g)).toHaveLength(1);
      expect(run.stderr).toMatch(/conflict: code\/five\.txt/);
      expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(FIVE.replace("line5", "line5 R"));
    });
  });

  test("a live client with merge in its config file merges as changes arrive, with merged and not-merged events", async () => {
    await withUpstreamPair({ "five.txt": FIVE, "same.txt": FIVE }, async (p) => {
      await versionKept(p.db, "five.txt", FIVE);
      await versionKept(p.db, "same.txt", FIVE);
      const config = `${tempDir("zync-config-")}/zync.config.json`;
      writeFileSync(config, JSON.stringify({ client: { merge: true } }));
      const live = startClient(p.daemon.url, p.daemon.tokenFile, p.clientDb, [`code:${p.r}`], ["--json", "--interval", "3600", "--config", config]);
      const events = () => eventsOf(live.stdout());
      try {
        await waitFor(() => events().some((ev) => ev.event === "pass-finished") || undefined, "the live client's first pass");
        await editBoth(p, "five.txt", FIVE.replace("line5", "line5 R"), FIVE.replace("line1", "line1 E"));
        await editBoth(p, "same.txt", FIVE.replace("line3", "line3 R"), FIVE.replace("line3", "line3 E"));
        await waitFor(() => events().some((ev) => ev.event === "merged" && ev.path === "code/five.txt") || undefined, "the merged event");
        await waitFor(() => events().some((ev) => ev.event === "not-merged" && ev.path === "code/same.txt") || undefined, "the not-merged event");
        expect(events().find((ev) => ev.event === "not-merged")).toMatchObject({ reason: "R's and E's edits overlap (1 place)" });
        expect(events().some((ev) => ev.event === "pass-finished" && ev.merged === 1)).toBe(true);
        expect(readFileSync(`${p.r}/five.txt`, "utf8")).toBe(MERGED);
        expect(readFileSync(`${p.r}/same.txt`, "utf8")).toBe(FIVE.replace("line3", "line3 R"));
      } finally {
        await live.stop();
      }
      expect(events().filter((ev) => ev.event === "not-merged")).toHaveLength(1);
    });
  });

  test("--merge with --prefer-daemon is refused with one sentence", async () => {
    const run = await runBin(BIN.client, ["--once", "--merge", "--prefer-daemon", "--dirs", "code:/tmp/nowhere-zync"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--merge and --prefer-daemon cannot be combined/);
    expect(run.stderr).not.toContain("    at ");
  });
});

describe("GET_VERSION (feature versions) from a hostile client", () => {
  test("only a version a path had is served, for that path, on a connection that agreed the feature", async () => {
    await withUpstreamPair({ "a.txt": "a's content\n", "b.txt": "b's content\n" }, async (p) => {
      const aHash = await versionKept(p.db, "a.txt", "a's content\n");
      await versionKept(p.db, "b.txt", "b's content\n");
      // Ignored on E, holding the same content as a.txt's stored version.
      writeFileSync(`${p.e}/.zyncignore`, "secret.txt\n");
      writeFileSync(`${p.e}/secret.txt`, "a's content\n");
      const token = readToken(p.daemon.tokenFile);
      const sock = await RawSocket.open(p.daemon.url, token, { versions: [4, 3], features: ["versions"] });
      try {
        expect((await sock.hello()).features).toEqual(["versions"]);
        const ask = (id: number, path: string, hash = aHash, root = "code") => sock.exchange({ type: "GET_VERSION", id, root, path, hash });

        // The one rightful request: a.txt's own version, as data frames and a FILE_END with that hash.
        const ok = await ask(1, "a.txt");
        expect(ok.reply).toMatchObject({ type: "FILE_END", id: 1, hash: aHash, size: 12 });
        expect(Buffer.concat(sock.binariesFrom(ok.from).map((f) => f.subarray(5))).toString()).toBe("a's content\n");
        const afterOk = sock.frames.length;

        const refusals: [string, () => Promise<{ reply: Record<string, unknown> }>, string][] = [
          ["another path's version", () => ask(2, "b.txt"), "NOT_FOUND"],
          ["an ignored path with the same content", () => ask(3, "secret.txt"), "NOT_FOUND"],
          ["a path outside the root", () => ask(4, "../a.txt"), "BAD_MESSAGE"],
          ["an absolute path", () => ask(5, "/etc/passwd"), "BAD_MESSAGE"],
          ["a path E does not have", () => ask(6, "nothing.txt"), "NOT_FOUND"],
          ["a root E does not serve", () => ask(7, "a.txt", aHash, "other"), "UNKNOWN_ROOT"],
          ["a hash that is no version of a.txt", () => ask(8, "a.txt", "0123456789abcdef"), "NOT_FOUND"],
        ];
        for (const [name, answer, code] of refusals) {
          const { reply } = await answer();
          expect({ name, type: reply.type, code: reply.code }).toEqual({ name, type: "ERROR", code });
        }
        expect(sock.binariesFrom(afterOk)).toEqual([]);

        // Once E ignores a.txt, its past versions are no longer served either.
        writeFileSync(`${p.e}/.zyncignore`, "secret.txt\na.txt\n");
        let id = 100;
        await waitFor(async () => (await ask(id++, "a.txt")).reply.code === "NOT_FOUND" || undefined, "E to stop serving a.txt's versions once it is ignored");
      } finally {
        await sock.close();
      }

      // A connection that did not agree the feature (version 3, or not offered) is not served at all.
      for (const hello of [{ versions: [3], features: ["versions"] }, { versions: [4], features: [] }]) {
        const old = await RawSocket.open(p.daemon.url, token, hello);
        try {
          expect((await old.hello()).features).toEqual([]);
          const { reply, from } = await old.exchange({ type: "GET_VERSION", id: 1, root: "code", path: "a.txt", hash: aHash });
          expect({ type: reply.type, code: reply.code }).toEqual({ type: "ERROR", code: "BAD_MESSAGE" });
          expect(old.binariesFrom(from)).toEqual([]);
        } finally {
          await old.close();
        }
      }
    });
  });
});

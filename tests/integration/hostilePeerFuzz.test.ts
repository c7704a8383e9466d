import { afterAll, describe, expect, test } from "@jest/globals";
import { decodeFromServer, EntryStateSchema, FromClientMessageSchema, isWirePath, MAX_FRAME_BYTES } from "@zync/protocol";
import { startTestDaemon } from "../helpers/bins.js";
import { dataFrame, offerKey, openSession } from "../helpers/offers.js";
import { RawSocket, readToken } from "../helpers/rawSocket.js";
import { generate, generateValid, HOSTILE_STRINGS, mutate, seededRandom } from "../helpers/schemaFuzz.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { writeFiles } from "../helpers/upstream.js";
import { waitFor } from "../helpers/waitFor.js";

afterAll(removeTempDirs);

const SEED = Number(process.env.ZYNC_FUZZ_SEED ?? Date.now() % 2 ** 31);
const ROUNDS = 12;
const PER_ROUND = 150;

/** Close codes of a connection the daemon ended on purpose: normal, protocol error, bad data, policy, too big. */
const CLEAN_CLOSES = [1000, 1002, 1007, 1008, 1009];

/** One frame of a round and what the daemon owes for it. */
type Sent = { frame: string | Buffer; answerId?: number; badText?: boolean };

/** Builds a round: valid messages with hostile values, broken ones, raw junk, binary frames, deep nesting. */
function round(rnd: () => number, nextId: () => number): Sent[] {
  const out: Sent[] = [];
  for (let i = 0; i < PER_ROUND; i++) {
    const r = rnd();
    if (r < 0.55) {
      const msg = generateValid(FromClientMessageSchema, rnd);
      if (msg === undefined) continue;
      // A HELLO with versions the daemon does not speak ends the connection; it is tried, but rarely.
      if (msg.type === "HELLO" && rnd() < 0.98) continue;
      // Fresh ids, so each answer names its request (an UPSTREAM_FILE_END keeps the id it names an upload by).
      if ("id" in msg && msg.type !== "UPSTREAM_FILE_END") msg.id = nextId();
      // Accepted uploads are not answered until their end; a refused one is answered, but either may happen.
      const silent = msg.type === "HELLO" || msg.type === "UPSTREAM_FILE";
      out.push({ frame: JSON.stringify(msg), ...(silent ? {} : { answerId: msg.id as number }) });
    } else if (r < 0.8) {
      const msg = generateValid(FromClientMessageSchema, rnd);
      if (msg === undefined) continue;
      const broken = mutate(msg, rnd);
      const decodes = FromClientMessageSchema.safeParse(broken).success;
      if (!decodes) out.push({ frame: JSON.stringify(broken), badText: true });
    } else if (r < 0.9) {
      const junk = ["", "{", "null", "[]", "1", '"PING"', '{"type":"PING"}', '{"type":"NOPE","id":1}', "\u0000\u001b[2K", `{"type":"PING","id":1,"x":${"[".repeat(5000)}${"]".repeat(5000)}}`];
      out.push({ frame: junk[Math.floor(rnd() * junk.length)]!, badText: true });
    } else {
      const kind = Math.floor(rnd() * 4);
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      out.push({ frame: kind === 0 ? bytes.subarray(0, 4) : kind === 1 ? Buffer.concat([Buffer.from([7]), bytes]) : dataFrame(Math.floor(rnd() * 2 ** 32), bytes) });
    }
  }
  return out;
}

/** Paths of the hostile pool that E never serves (default ignores, .git, zync's temp folder). */
const UNSERVED = new Set([".git/hooks/post-checkout", ".git/config", "node_modules/.bin/x", ".zync-tmp/x"]);

/**
 * An offer for root `code` built from the pool's valid paths and generated states that need no upload (folders,
 * links, deletions), then its FINALIZE: the path through which E's own disk is looked at. Checks that a path E
 * does not serve refuses the offer, and returns every text frame received meanwhile.
 */
async function offerAndFinalize(sock: RawSocket, rnd: () => number, nextId: () => number, where: object): Promise<void> {
  const paths = HOSTILE_STRINGS.filter(isWirePath);
  const changes = new Map<string, unknown>();
  for (let i = 0, n = 1 + Math.floor(rnd() * 3); i < n; i++) {
    let state: unknown;
    do state = generate(EntryStateSchema, rnd);
    while (!EntryStateSchema.safeParse(state).success || (state as { kind: string }).kind === "file");
    const path = paths[Math.floor(rnd() * paths.length)]!;
    changes.set(path, { path, base: rnd() < 0.5 ? null : { kind: "dir", mode: 0o755 }, state });
  }
  const { reply } = await sock.exchange({ type: "PREPARE_UPSTREAM", id: nextId(), root: "code", key: offerKey(), changes: [...changes.values()] });
  const unserved = [...changes.keys()].some((p) => UNSERVED.has(p));
  expect({ ...where, offered: [...changes.keys()], answer: unserved ? reply.code : reply.type }).toEqual({ ...where, offered: [...changes.keys()], answer: unserved ? "BAD_PATH" : "UPSTREAM_READY" });
  if (reply.type !== "UPSTREAM_READY") return;
  const done = await sock.exchange({ type: "FINALIZE_UPSTREAM", id: nextId(), session: reply.session });
  expect({ ...where, type: done.reply.type }).toEqual({ ...where, type: "UPSTREAM_DONE" });
}

describe("a hostile peer: fuzzing the daemon from the protocol's own schemas", () => {
  test(`the daemon never crashes, answers every request or closes cleanly, and keeps serving another client (seed ${SEED})`, async () => {
    // Printed so that a failure can be repeated: ZYNC_FUZZ_SEED=<seed>.
    console.log(`hostile-peer fuzz seed ${SEED} (repeat with ZYNC_FUZZ_SEED=${SEED})`);
    const rnd = seededRandom(SEED);
    const e = tempDir("zync-e-");
    writeFiles(e, { "hello.txt": "hello\n", "src/main.ts": "export {};\n", ".git/config": "[core]\n" });
    const daemon = await startTestDaemon([`code:${e}`]);
    let id = 1;
    const nextId = (): number => id++;
    try {
      const witness = await openSession(daemon);
      for (let n = 0; n < ROUNDS; n++) {
        const where = { seed: SEED, round: n };
        const sock = await RawSocket.open(daemon.url, readToken(daemon.tokenFile));
        const greeted = rnd() < 0.8;
        if (greeted) {
          await sock.hello();
          await offerAndFinalize(sock, rnd, nextId, where);
        }
        const sent = round(rnd, nextId);
        const start = sock.frames.length;
        for (const s of sent) sock.ws.send(s.frame, { binary: Buffer.isBuffer(s.frame) });
        // Every round also tries one frame past the size limit, which must end only this connection.
        const tooBig = n % 4 === 3;
        if (tooBig) sock.ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20).toString());
        else sock.send({ type: "PING", id: 0 });

        // The last PING is answered (with PONG, or NOT_READY when no HELLO was sent) after everything before it was read.
        await waitFor(() => sock.closed !== undefined || sock.frames.slice(start).some((f) => !f.binary && f.json?.id === 0), "the end of the round", 30_000);
        if (sock.closed === undefined) {
          const owed = sent.flatMap((s) => (s.answerId === undefined ? [] : [s.answerId]));
          await waitFor(() => {
            const answered = new Set(sock.frames.flatMap((f) => (!f.binary && typeof f.json?.id === "number" ? [f.json.id] : [])));
            return owed.every((i) => answered.has(i)) || sock.closed !== undefined;
          }, `an answer to each of ${owed.length} requests`, 30_000);
          const refusals = sock.frames.filter((f) => !f.binary && f.json?.type === "ERROR" && f.json.id === undefined).length;
          expect({ ...where, enough: refusals >= sent.filter((s) => s.badText).length }).toEqual({ ...where, enough: true });
        }
        if (sock.closed !== undefined) expect({ ...where, code: CLEAN_CLOSES.includes(sock.closed.code) }).toEqual({ ...where, code: true });
        if (tooBig) {
          await waitFor(() => sock.closed !== undefined, "the daemon to close a connection that sent a frame too big");
          // Unless a HELLO with versions the daemon does not speak ended it first.
          const mismatch = sock.frames.some((f) => !f.binary && f.json?.code === "VERSION_MISMATCH");
          expect({ ...where, close: sock.closed }).toEqual({ ...where, close: mismatch ? { code: 1002, reason: "version mismatch" } : expect.objectContaining({ code: 1009 }) });
        }
        // Every answer is a message of the protocol, and none names E's folders or blames E for what R sent.
        for (const f of sock.frames) {
          if (f.binary) continue;
          expect({ ...where, decodes: decodeFromServer(f.text).ok, leaks: f.text.includes(e), internal: f.json?.code === "INTERNAL", text: f.text.slice(0, 300) }).toEqual({ ...where, decodes: true, leaks: false, internal: false, text: f.text.slice(0, 300) });
        }
        await sock.close();

        // The daemon is up, and another client is served as before.
        expect({ ...where, exit: daemon.proc.exitCode }).toEqual({ ...where, exit: null });
        expect({ ...where, reply: (await witness.exchange({ type: "PING", id: 1_000_000 + n })).reply }).toEqual({ ...where, reply: { type: "PONG", id: 1_000_000 + n } });
        const file = await witness.exchange({ type: "GET_FILE", id: 2_000_000 + n, root: "code", path: "hello.txt" });
        expect({ ...where, reply: file.reply }).toEqual({ ...where, reply: expect.objectContaining({ type: "FILE_END", size: 6 }) });
      }
      await witness.close();
      expect(daemon.stderr()).not.toContain("    at ");
      // Nothing of .git was ever staged for review or served.
      expect(daemon.stderr()).not.toMatch(/\.git\/config/);
    } finally {
      await daemon.stop();
    }
  }, 300_000);
});

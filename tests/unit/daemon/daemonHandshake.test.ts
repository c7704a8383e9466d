import { describe, expect, test } from "@jest/globals";
import { handshakeProof, newNonce, proofMatches } from "@zync/node";
import { DaemonHandshake } from "@zync/daemon";

const TOKEN = "s3cret";
const hello = (over: Record<string, unknown> = {}) => ({ type: "HELLO" as const, versions: [3], clientId: "r-1", nonce: "ab".repeat(32), ...over });

/** Runs HELLO on a fresh handshake and returns it with the transcript a client would build from the CHALLENGE. */
function challenged(daemonNonce = newNonce()) {
  const hs = new DaemonHandshake(TOKEN, daemonNonce);
  const answer = hs.hello(hello());
  if (answer.kind !== "challenge") throw new Error(`HELLO was answered with ${JSON.stringify(answer)}`);
  const t = { version: answer.message.version, clientNonce: "ab".repeat(32), daemonNonce: answer.message.nonce, clientId: "r-1" };
  return { hs, t, challenge: answer.message };
}

describe("the daemon's side of the handshake", () => {
  test("HELLO gets a CHALLENGE with the version and the daemon's nonce, nothing more", () => {
    const { challenge } = challenged("cd".repeat(32));
    expect(challenge).toEqual({ type: "CHALLENGE", version: 3, nonce: "cd".repeat(32) });
  });

  test("a version-4 client gets version 4, and a version-3 client is still served at version 3", () => {
    const both = new DaemonHandshake(TOKEN, "cd".repeat(32), []).hello(hello({ versions: [4, 3] }));
    const older = new DaemonHandshake(TOKEN, "cd".repeat(32), []).hello(hello({ versions: [3] }));
    expect(both).toMatchObject({ kind: "challenge", message: { version: 4 } });
    expect(older).toMatchObject({ kind: "challenge", message: { version: 3 } });
  });

  test("a right proof authenticates, and the daemon's proof checks out for the client", () => {
    const { hs, t } = challenged();
    const answer = hs.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", t) });
    expect(answer).toMatchObject({ kind: "authenticated", version: 3, clientId: "r-1", live: false });
    expect(hs.authenticated).toBe(true);
    if (answer.kind !== "authenticated") throw new Error("not authenticated");
    expect(proofMatches(TOKEN, "daemon", t, answer.proof)).toBe(true);
    expect(proofMatches("another token", "daemon", t, answer.proof)).toBe(false);
  });

  test("a proof made from a wrong token is refused with UNAUTHORIZED and a close", () => {
    const { hs, t } = challenged();
    const answer = hs.auth({ type: "AUTH", proof: handshakeProof("wrong", "client", t) });
    expect(answer).toEqual({
      kind: "refuse",
      error: { type: "ERROR", code: "UNAUTHORIZED", message: "wrong token: the proof does not match the daemon's token" },
      close: { code: 1008, reason: "wrong token" },
    });
    expect(hs.authenticated).toBe(false);
    // A second try on the same connection gets nowhere either.
    expect(hs.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", t) }).kind).not.toBe("authenticated");
  });

  test("an exchange recorded on one connection fails when replayed on a new one", () => {
    const first = challenged();
    const recorded = { type: "AUTH" as const, proof: handshakeProof(TOKEN, "client", first.t) };
    expect(first.hs.auth(recorded).kind).toBe("authenticated");
    const second = challenged();
    expect(second.challenge.nonce).not.toBe(first.challenge.nonce);
    expect(second.hs.auth(recorded)).toMatchObject({ kind: "refuse", error: { code: "UNAUTHORIZED" } });
  });

  test("the daemon's own proof sent back as the client's is refused", () => {
    const first = challenged();
    const answer = first.hs.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", first.t) });
    if (answer.kind !== "authenticated") throw new Error("not authenticated");
    const { hs } = challenged(first.t.daemonNonce);
    expect(hs.auth({ type: "AUTH", proof: answer.proof }).kind).toBe("refuse");
  });

  test.each([
    ["protocol 1 only", hello({ versions: [1] }), "VERSION_MISMATCH", /daemon speaks 4, 3, client offered 1\); version 1 sent the token in clear/],
    ["protocol 2 only", hello({ versions: [2] }), "VERSION_MISMATCH", /^no common protocol version \(daemon speaks 4, 3, client offered 2\); the client is older than this daemon: upgrade zync-client on R$/],
    ["only newer versions", hello({ versions: [7, 8] }), "VERSION_MISMATCH", /^no common protocol version \(daemon speaks 4, 3, client offered 7, 8\); the client is newer than this daemon: upgrade zync-daemon on E$/],
    ["no nonce", hello({ nonce: undefined }), "BAD_MESSAGE", /must carry a nonce/],
  ])("a HELLO with %s is refused with a close", (_why, msg, code, message) => {
    const answer = new DaemonHandshake(TOKEN).hello(msg);
    expect(answer).toMatchObject({ kind: "refuse", error: { code, message: expect.stringMatching(message) }, close: { code: 1002 } });
  });

  test.each([
    ["nothing offered", undefined, ["compress", "delta"], []],
    ["all offered", ["delta", "compress"], ["compress", "delta"], ["compress", "delta"]],
    ["some offered, unknown names ignored", ["delta", "teleport"], ["compress", "delta"], ["delta"]],
    ["offered but turned off on the daemon", ["compress"], [], []],
  ])("features with %s: the daemon uses only what both sides support, in its own order", (_why, offered, supported, agreed) => {
    const hs = new DaemonHandshake(TOKEN, "cd".repeat(32), supported);
    const msg = hello(offered === undefined ? {} : { features: offered });
    const challenge = hs.hello(msg);
    if (challenge.kind !== "challenge") throw new Error("no challenge");
    const t = { version: 3, clientNonce: msg.nonce as string, daemonNonce: "cd".repeat(32), clientId: "r-1" };
    expect(hs.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", t) })).toMatchObject({ kind: "authenticated", features: agreed });
  });

  test("out of order: AUTH before HELLO, a second HELLO, a second AUTH are answered without a close", () => {
    const hs = new DaemonHandshake(TOKEN);
    expect(hs.auth({ type: "AUTH", proof: "0".repeat(64) })).toMatchObject({ kind: "complain", error: { code: "NOT_READY" } });
    const { hs: ready, t } = challenged();
    expect(ready.hello(hello())).toMatchObject({ kind: "complain", error: { code: "BAD_MESSAGE" } });
    expect(ready.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", t) }).kind).toBe("authenticated");
    expect(ready.auth({ type: "AUTH", proof: handshakeProof(TOKEN, "client", t) })).toMatchObject({ kind: "complain", error: { code: "BAD_MESSAGE" } });
  });
});

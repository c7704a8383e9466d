import { describe, expect, test } from "@jest/globals";
import { createHmac } from "node:crypto";
import { handshakeProof, newNonce, proofMatches, transcriptText, type HandshakeTranscript } from "@zync/node";

const T: HandshakeTranscript = {
  version: 3,
  clientNonce: "00112233445566778899aabbccddeeff",
  daemonNonce: "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
  clientId: "r-1",
};

describe("the handshake proofs", () => {
  test("are HMAC-SHA256 over the documented text, keyed with the token's UTF-8 bytes (the vectors of docs/protocol.md)", () => {
    expect(transcriptText("client", T)).toBe(`zync-auth\nclient\n3\n${T.clientNonce}\n${T.daemonNonce}\nr-1`);
    expect(handshakeProof("tøken", "client", T)).toBe(createHmac("sha256", Buffer.from("tøken", "utf8")).update(transcriptText("client", T)).digest("hex"));
    expect(handshakeProof("s3cret", "client", T)).toBe("4a3415419d025f2125e31001c07ce68dfc225c8116d37c10702915919cd09e68");
    expect(handshakeProof("s3cret", "daemon", T)).toBe("6d66b09d2df65af917cd7201a7c8e3e514aa8d9fcf5601670fa75bb0f0f53ed9");
  });

  test("the right token's proof matches; a proof made from a wrong token does not, on either side", () => {
    for (const side of ["client", "daemon"] as const) {
      expect(proofMatches("s3cret", side, T, handshakeProof("s3cret", side, T))).toBe(true);
      expect(proofMatches("s3cret", side, T, handshakeProof("s3cret-", side, T))).toBe(false);
      expect(proofMatches("s3cret", side, T, handshakeProof("", side, T))).toBe(false);
    }
  });

  test("one side's proof never serves as the other's", () => {
    expect(proofMatches("s3cret", "daemon", T, handshakeProof("s3cret", "client", T))).toBe(false);
    expect(proofMatches("s3cret", "client", T, handshakeProof("s3cret", "daemon", T))).toBe(false);
  });

  test.each([
    ["another daemon nonce (a recording replayed to the daemon)", { daemonNonce: newNonce() }],
    ["another client nonce (a recording replayed to a client)", { clientNonce: newNonce() }],
    ["another client id", { clientId: "r-2" }],
    ["another version", { version: 2 }],
  ])("a proof is bound to its transcript: %s makes it fail", (_why, change) => {
    const recorded = handshakeProof("s3cret", "client", T);
    expect(proofMatches("s3cret", "client", { ...T, ...change }, recorded)).toBe(false);
  });

  test("malformed proofs are refused without throwing", () => {
    for (const bad of ["", "ab", "z".repeat(64), "0".repeat(65), handshakeProof("s3cret", "client", T).toUpperCase()]) {
      expect(proofMatches("s3cret", "client", T, bad)).toBe(false);
    }
  });

  test("nonces are 64 lowercase hex digits and never repeat", () => {
    const seen = new Set(Array.from({ length: 100 }, () => newNonce()));
    expect(seen.size).toBe(100);
    for (const n of seen) expect(n).toMatch(/^[0-9a-f]{64}$/);
  });
});

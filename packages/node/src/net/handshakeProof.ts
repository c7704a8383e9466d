import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * What both proofs of a connection's handshake are computed over (docs/protocol.md section 3.2). Both nonces are
 * fresh for each connection, so a proof recorded on one connection proves nothing on another.
 */
export type HandshakeTranscript = {
  /** The version the daemon chose in CHALLENGE. */
  version: number;
  /** HELLO's nonce. */
  clientNonce: string;
  /** CHALLENGE's nonce. */
  daemonNonce: string;
  /** HELLO's clientId, so that a proof also vouches for the identity it was made for. */
  clientId: string;
};

/** Which side a proof comes from; the label keeps a proof of one side from ever serving as the other's. */
export type ProofSide = "client" | "daemon";

/** A new random nonce: 32 bytes as 64 lowercase hex digits. */
export function newNonce(): string {
  return randomBytes(32).toString("hex");
}

/** The exact bytes a proof is computed over: `zync-auth` and the fields, joined by line feeds, as UTF-8. */
export function transcriptText(side: ProofSide, t: HandshakeTranscript): string {
  // clientId may hold any character, a line feed included; it goes last, so the text still splits one way only.
  return ["zync-auth", side, String(t.version), t.clientNonce, t.daemonNonce, t.clientId].join("\n");
}

/** HMAC-SHA256 of {@link transcriptText}, keyed with the token's UTF-8 bytes, as 64 lowercase hex digits. */
export function handshakeProof(token: string, side: ProofSide, t: HandshakeTranscript): string {
  return createHmac("sha256", Buffer.from(token, "utf8")).update(transcriptText(side, t), "utf8").digest("hex");
}

/** True when `received` is `side`'s proof for this transcript; compared in constant time. */
export function proofMatches(token: string, side: ProofSide, t: HandshakeTranscript, received: string): boolean {
  const expected = Buffer.from(handshakeProof(token, side, t), "utf8");
  const got = Buffer.from(received, "utf8");
  // Both are 64 hex digits whenever the message decoded; a length check first keeps timingSafeEqual from throwing.
  return got.length === expected.length && timingSafeEqual(got, expected);
}

import {
  agreeFeatures,
  ErrorCode,
  KNOWN_FEATURES,
  selectVersion,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Auth,
  type Challenge,
  type ErrorMessage,
  type Hello,
} from "@zync/protocol";
import { handshakeProof, newNonce, proofMatches, type HandshakeTranscript } from "@zync/node";

/** A handshake step that ends the connection: the ERROR to send, then the close code and reason. */
export type HandshakeRefusal = { kind: "refuse"; error: ErrorMessage; close: { code: number; reason: string } };

/** An out-of-order handshake message: answered with an ERROR, the connection stays as it is. */
export type HandshakeComplaint = { kind: "complain"; error: ErrorMessage };

/** What the daemon answers HELLO with. */
export type HelloAnswer = { kind: "challenge"; message: Challenge } | HandshakeRefusal | HandshakeComplaint;

/** What the daemon answers AUTH with: on success, who the client is and the daemon's own proof for WELCOME. */
export type AuthAnswer =
  | { kind: "authenticated"; version: number; clientId: string; live: boolean; features: string[]; proof: string }
  | HandshakeRefusal
  | HandshakeComplaint;

type State =
  | { step: "awaiting-hello" }
  | { step: "awaiting-auth"; transcript: HandshakeTranscript; live: boolean; features: string[] }
  | { step: "done" }
  | { step: "refused" };

/**
 * The daemon's side of the handshake on one connection (docs/protocol.md section 3): HELLO → CHALLENGE, AUTH →
 * WELCOME. Nothing but the chosen version and a nonce is sent before the client's proof is verified, and a wrong
 * proof ends the connection. The nonce is injected for tests; it is fresh for each connection otherwise, and
 * `supported` lists the features this daemon may use (all it knows unless some were turned off).
 */
export class DaemonHandshake {
  private readonly token: string;
  private readonly nonce: string;
  private readonly supported: readonly string[];
  private state: State = { step: "awaiting-hello" };

  constructor(token: string, nonce: string = newNonce(), supported: readonly string[] = KNOWN_FEATURES) {
    this.token = token;
    this.nonce = nonce;
    this.supported = supported;
  }

  /** True once the client has proved that it knows the token. */
  get authenticated(): boolean {
    return this.state.step === "done";
  }

  hello(msg: Hello): HelloAnswer {
    if (this.state.step === "refused") return complain(ErrorCode.Unauthorized, "this connection was refused");
    if (this.state.step !== "awaiting-hello") return complain(ErrorCode.BadMessage, "HELLO was already sent on this connection");
    const version = selectVersion(msg.versions);
    if (version === undefined) {
      const oldest = Math.min(...SUPPORTED_PROTOCOL_VERSIONS);
      const old = msg.versions.includes(1)
        ? "; version 1 sent the token in clear and is no longer accepted: upgrade zync-client"
        : msg.versions.every((v) => v < oldest)
          ? "; the client is older than this daemon: upgrade zync-client on R"
          : msg.versions.every((v) => v > Math.max(...SUPPORTED_PROTOCOL_VERSIONS))
            ? "; the client is newer than this daemon: upgrade zync-daemon on E"
            : "";
      return refuse(
        ErrorCode.VersionMismatch,
        `no common protocol version (daemon speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}, client offered ${msg.versions.join(", ")})${old}`,
        1002,
        "version mismatch",
      );
    }
    if (msg.nonce === undefined) return refuse(ErrorCode.BadMessage, `HELLO for version ${version} must carry a nonce`, 1002, "no nonce");
    const transcript = { version, clientNonce: msg.nonce, daemonNonce: this.nonce, clientId: msg.clientId };
    this.state = { step: "awaiting-auth", transcript, live: msg.live === true, features: agreeFeatures(msg.features ?? [], this.supported, version) };
    return { kind: "challenge", message: { type: "CHALLENGE", version, nonce: this.nonce } };
  }

  auth(msg: Auth): AuthAnswer {
    const state = this.state;
    if (state.step === "awaiting-hello") return complain(ErrorCode.NotReady, "send HELLO first");
    if (state.step === "done") return complain(ErrorCode.BadMessage, "AUTH was already accepted on this connection");
    if (state.step === "refused") return complain(ErrorCode.Unauthorized, "this connection was refused");
    if (!proofMatches(this.token, "client", state.transcript, msg.proof)) {
      this.state = { step: "refused" };
      return refuse(ErrorCode.Unauthorized, "wrong token: the proof does not match the daemon's token", 1008, "wrong token");
    }
    this.state = { step: "done" };
    const { version, clientId } = state.transcript;
    const proof = handshakeProof(this.token, "daemon", state.transcript);
    return { kind: "authenticated", version, clientId, live: state.live, features: state.features, proof };
  }
}

function refuse(code: ErrorCode, message: string, closeCode: number, reason: string): HandshakeRefusal {
  return { kind: "refuse", error: { type: "ERROR", code, message }, close: { code: closeCode, reason } };
}

function complain(code: ErrorCode, message: string): HandshakeComplaint {
  return { kind: "complain", error: { type: "ERROR", code, message } };
}

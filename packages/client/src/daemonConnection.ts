import WebSocket from "ws";
import {
  decodeBinaryFrame,
  decodeFromServer,
  ErrorCode,
  encodeMessage,
  MAX_FRAME_BYTES,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientRequest,
  type FileEnd,
  type FromServerMessage,
  type Welcome,
} from "@zync/protocol";
import { randomBytes } from "node:crypto";
import { daemonProof, InboundFlow, proofMatches, sendFileFrames, sendWithBackpressure, type SentFile } from "@zync/node";

/** Why a connection could not be made or was lost. `kind` decides the exit code and whether to retry. */
export class ConnectionError extends Error {
  readonly kind: "unreachable" | "unauthorized" | "protocol" | "closed";

  constructor(kind: ConnectionError["kind"], message: string) {
    super(message);
    this.name = "ConnectionError";
    this.kind = kind;
  }
}

/** An error the daemon answered a request with. */
export class RemoteError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
  }
}

/** Where and how to connect. */
export type ConnectOptions = { url: string; token: string; clientId: string; live: boolean; timeoutMs?: number };

type Pending = { resolve: (m: FromServerMessage) => void; reject: (e: Error) => void; expect?: FromServerMessage["type"] };
type Stream = Pending & { sink: (data: Uint8Array) => Promise<void> };

/** Answers keyed by the request type that asks for them. */
const ANSWER_TO = {
  PING: "PONG",
  GET_LAST_SEQUENCE: "LAST_SEQUENCE",
  GET_CHANGES: "CHANGES",
  ACK_CHANGES: "ACKED",
  PREPARE_UPSTREAM: "UPSTREAM_READY",
  FINALIZE_UPSTREAM: "UPSTREAM_DONE",
} as const;
type AnswerTo = typeof ANSWER_TO;
type Answer<T extends keyof AnswerTo> = Extract<FromServerMessage, { type: AnswerTo[T] }>;

/** One page of changes as the daemon sent it. */
export type ChangesPage = Answer<"GET_CHANGES">;
type Ask<T extends keyof AnswerTo> = Omit<Extract<ClientRequest, { type: T }>, "id">;

/**
 * One authenticated WebSocket to the daemon, after the version handshake. Requests carry ids and may overlap;
 * file content arrives as binary frames routed to the request's sink, with the socket paused while the disk is
 * behind, so memory stays bounded.
 */
export class DaemonConnection {
  readonly welcome: Welcome;
  /** Settles when the connection ends, with the reason. */
  readonly closed: Promise<ConnectionError>;
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, Stream>();
  private readonly changedListeners = new Set<(head: number) => void>();
  private readonly inbound: InboundFlow;
  private readonly abandoned = new Set<number>();
  /** When the last frame of any kind arrived (ms since the epoch); file data counts as a sign of life. */
  lastHeard = Date.now();
  private failure: ConnectionError | undefined;

  private constructor(ws: WebSocket, welcome: Welcome, closed: Promise<ConnectionError>) {
    this.ws = ws;
    this.inbound = new InboundFlow(ws);
    this.welcome = welcome;
    this.closed = closed;
  }

  /** Connects, authenticates and completes the handshake. */
  static open(opts: ConnectOptions): Promise<DaemonConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, {
        headers: { Authorization: `Bearer ${opts.token}` },
        maxPayload: MAX_FRAME_BYTES,
        perMessageDeflate: false,
        handshakeTimeout: opts.timeoutMs ?? 10_000,
      });
      let conn: DaemonConnection | undefined;
      // An upgrade that is never followed by WELCOME must not hang a run.
      const handshakeTimer = setTimeout(() => {
        if (conn) return;
        ws.terminate();
        fail(new ConnectionError("unreachable", `${opts.url} accepted the connection but did not answer the handshake`));
      }, opts.timeoutMs ?? 10_000);
      let settleClosed: (e: ConnectionError) => void = () => undefined;
      const closed = new Promise<ConnectionError>((r) => (settleClosed = r));
      const fail = (err: ConnectionError): void => {
        clearTimeout(handshakeTimer);
        if (conn) conn.fail(err);
        else reject(err);
        settleClosed(err);
      };
      ws.on("unexpected-response", (_req, res) => {
        const err =
          res.statusCode === 401
            ? new ConnectionError("unauthorized", `the daemon at ${opts.url} refused the token (HTTP 401); check ZYNC_TOKEN or --token-file`)
            : new ConnectionError("protocol", `${opts.url} answered HTTP ${res.statusCode ?? "?"}; is it a zync daemon?`);
        res.resume();
        ws.terminate();
        fail(err);
      });
      ws.on("error", (err: NodeJS.ErrnoException) => {
        fail(new ConnectionError("unreachable", `cannot reach the daemon at ${opts.url}: ${err.code ?? err.message}`));
      });
      ws.on("close", (code, reason) => {
        fail(new ConnectionError("closed", `the daemon closed the connection (${code}${reason.length ? ` ${reason.toString()}` : ""})`));
      });
      const nonce = randomBytes(16).toString("hex");
      ws.on("open", () => {
        ws.send(encodeMessage({ type: "HELLO", versions: [...SUPPORTED_PROTOCOL_VERSIONS], clientId: opts.clientId, live: opts.live, nonce }));
      });
      ws.on("message", (data: Buffer, isBinary) => {
        if (conn) {
          conn.onFrame(data, isBinary);
          return;
        }
        const decoded = isBinary ? undefined : decodeFromServer(data.toString("utf8"));
        if (decoded?.ok && decoded.message.type === "WELCOME") {
          if (!proofMatches(daemonProof(opts.token, nonce), decoded.message.proof)) {
            // Whatever answered knows no token: not the daemon (perhaps someone else listens on R's port while the tunnel is down).
            ws.terminate();
            fail(new ConnectionError("protocol", `the server at ${opts.url} could not prove it knows the token: it is not your zync daemon (is the tunnel up?)`));
            return;
          }
          clearTimeout(handshakeTimer);
          conn = new DaemonConnection(ws, decoded.message, closed);
          resolve(conn);
          return;
        }
        const why = decoded?.ok && decoded.message.type === "ERROR" ? decoded.message.message : "it did not answer HELLO with WELCOME";
        ws.terminate();
        fail(new ConnectionError("protocol", `handshake with ${opts.url} failed: ${why}`));
      });
    });
  }

  /** Sends a request and resolves with its answer; an ERROR answer rejects with a RemoteError. */
  request<T extends keyof AnswerTo>(msg: Ask<T> & { type: T }): Promise<Answer<T>> {
    const id = this.nextId++;
    return new Promise<FromServerMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(id, { resolve, reject, expect: ANSWER_TO[msg.type] });
      this.ws.send(encodeMessage({ ...msg, id } as ClientRequest));
    }) as Promise<Answer<T>>;
  }

  /** Fetches a file; `sink` receives each chunk in order and is awaited before later chunks are written. */
  getFile(root: string, path: string, hash: string | undefined, sink: (data: Uint8Array) => Promise<void>): Promise<FileEnd> {
    const id = this.nextId++;
    return new Promise<FromServerMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      let chain = Promise.resolve();
      const ordered = (data: Uint8Array): Promise<void> => (chain = chain.then(() => sink(data)));
      this.streams.set(id, {
        sink: ordered,
        // FILE_END is only final once every chunk before it has been written.
        resolve: (m) => void chain.then(() => resolve(m), reject),
        reject,
      });
      this.ws.send(encodeMessage({ type: "GET_FILE", id, root, path, ...(hash ? { hash } : {}) }));
    }) as Promise<FileEnd>;
  }

  /**
   * Sends one file of an upstream session: UPSTREAM_FILE, the data frames, UPSTREAM_FILE_END; resolves once the
   * daemon has stored it. Stops reading early if the daemon refuses the file.
   */
  async uploadFile(session: number, path: string, abs: string): Promise<SentFile> {
    const id = this.nextId++;
    let refused: Error | undefined;
    const stored = new Promise<FromServerMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(id, { resolve, reject, expect: "UPSTREAM_STORED" });
    });
    stored.catch((err: unknown) => (refused = err instanceof Error ? err : new Error(String(err))));
    this.ws.send(encodeMessage({ type: "UPSTREAM_FILE", id, session, path }));
    const sent = await sendFileFrames(abs, id, async (frame) => {
      if (refused) throw refused;
      await sendWithBackpressure(this.ws, frame);
    });
    if (!refused) this.ws.send(encodeMessage({ type: "UPSTREAM_FILE_END", id, size: sent.size, hash: sent.hash }));
    await stored;
    return sent;
  }

  /** Calls `listener` whenever the daemon announces new changes. */
  onChanged(listener: (head: number) => void): () => void {
    this.changedListeners.add(listener);
    return () => this.changedListeners.delete(listener);
  }

  close(): void {
    this.ws.close(1000);
  }

  /** Drops the connection at once (used when it stopped answering). */
  terminate(): void {
    this.ws.terminate();
  }

  private fail(err: ConnectionError): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of [...this.pending.values(), ...this.streams.values()]) p.reject(err);
    this.pending.clear();
    this.streams.clear();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.lastHeard = Date.now();
    if (isBinary) {
      const frame = decodeBinaryFrame(data);
      if (!frame.ok) return this.protocolFailure(frame.error);
      const stream = this.streams.get(frame.message.id);
      if (!stream) {
        // The rest of a transfer this side gave up on (its disk write failed) is dropped.
        if (this.abandoned.has(frame.message.id)) return;
        return this.protocolFailure(`data for unknown request ${frame.message.id}`);
      }
      this.inbound.track(frame.message.data.byteLength, stream.sink(frame.message.data)).catch((err: unknown) => {
        this.streams.delete(frame.message.id);
        this.abandoned.add(frame.message.id);
        stream.reject(err instanceof Error ? err : new Error(String(err)));
      });
      return;
    }
    const decoded = decodeFromServer(data.toString("utf8"));
    if (!decoded.ok) return this.protocolFailure(decoded.error);
    const msg = decoded.message;
    if (msg.type === "CHANGED") {
      for (const l of this.changedListeners) l(msg.head);
      return;
    }
    if (msg.type === "WELCOME") return this.protocolFailure("unexpected second WELCOME");
    if (msg.type === "ERROR" && msg.id === undefined) {
      // Only a version mismatch ends the connection; other id-less errors answer a frame the daemon refused.
      if (msg.code === ErrorCode.VersionMismatch) this.fail(new ConnectionError("protocol", `the daemon reported: ${msg.message}`));
      return;
    }
    if (msg.id === undefined) return;
    if (this.abandoned.delete(msg.id)) return;
    const stream = this.streams.get(msg.id);
    if (stream) {
      this.streams.delete(msg.id);
      if (msg.type === "ERROR") stream.reject(new RemoteError(msg.code, msg.message));
      else stream.resolve(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    // An ERROR may follow an earlier one for the same request (e.g. a refused upload); it has been reported.
    if (!p && msg.type === "ERROR") return;
    if (!p) return this.protocolFailure(`answer to unknown request ${msg.id}`);
    this.pending.delete(msg.id);
    if (msg.type === "ERROR") p.reject(new RemoteError(msg.code, msg.message));
    else if (p.expect !== undefined && msg.type !== p.expect) this.protocolFailure(`it answered a request with ${msg.type} instead of ${p.expect}`);
    else p.resolve(msg);
  }

  private protocolFailure(why: string): void {
    this.fail(new ConnectionError("protocol", `the daemon sent something this client does not understand: ${why}`));
    this.ws.terminate();
  }
}

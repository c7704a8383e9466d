import WebSocket from "ws";
import {
  decodeBinaryFrame,
  decodeFromServer,
  encodeMessage,
  MAX_FRAME_BYTES,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientRequest,
  type FileEnd,
  type FromServerMessage,
  type Welcome,
} from "@zync/protocol";

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

type Pending = { resolve: (m: FromServerMessage) => void; reject: (e: Error) => void };
type Stream = Pending & { sink: (data: Uint8Array) => Promise<void> };

/** Answers keyed by the request type that asks for them. */
type AnswerTo = {
  PING: "PONG";
  GET_LAST_SEQUENCE: "LAST_SEQUENCE";
  GET_CHANGES: "CHANGES";
  ACK_CHANGES: "ACKED";
};
type Answer<T extends keyof AnswerTo> = Extract<FromServerMessage, { type: AnswerTo[T] }>;
type Ask<T extends keyof AnswerTo> = Omit<Extract<ClientRequest, { type: T }>, "id">;

/** Bytes received but not yet written before the socket is paused, and the level at which it resumes. */
const PAUSE_BYTES = 16 * 1024 * 1024;
const RESUME_BYTES = 4 * 1024 * 1024;

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
  private unwritten = 0;
  private failure: ConnectionError | undefined;

  private constructor(ws: WebSocket, welcome: Welcome, closed: Promise<ConnectionError>) {
    this.ws = ws;
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
      let settleClosed: (e: ConnectionError) => void = () => undefined;
      const closed = new Promise<ConnectionError>((r) => (settleClosed = r));
      const fail = (err: ConnectionError): void => {
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
      ws.on("open", () => {
        ws.send(encodeMessage({ type: "HELLO", versions: [...SUPPORTED_PROTOCOL_VERSIONS], clientId: opts.clientId, live: opts.live }));
      });
      ws.on("message", (data: Buffer, isBinary) => {
        if (conn) {
          conn.onFrame(data, isBinary);
          return;
        }
        const decoded = isBinary ? undefined : decodeFromServer(data.toString("utf8"));
        if (decoded?.ok && decoded.message.type === "WELCOME") {
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
      this.pending.set(id, { resolve, reject });
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
    if (isBinary) {
      const frame = decodeBinaryFrame(data);
      const stream = frame.ok ? this.streams.get(frame.message.id) : undefined;
      if (!frame.ok || !stream) return this.protocolFailure(frame.ok ? `data for unknown request ${frame.message.id}` : frame.error);
      const size = frame.message.data.byteLength;
      this.unwritten += size;
      if (this.unwritten > PAUSE_BYTES && !this.ws.isPaused) this.ws.pause();
      stream.sink(frame.message.data).then(
        () => {
          this.unwritten -= size;
          if (this.unwritten < RESUME_BYTES && this.ws.isPaused) this.ws.resume();
        },
        (err: unknown) => {
          this.streams.delete(frame.message.id);
          stream.reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
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
      // A connection-level error: the daemon will close; report it as the reason.
      this.fail(new ConnectionError("protocol", `the daemon reported: ${msg.message}`));
      return;
    }
    if (msg.id === undefined) return;
    const stream = this.streams.get(msg.id);
    if (stream) {
      this.streams.delete(msg.id);
      if (msg.type === "ERROR") stream.reject(new RemoteError(msg.code, msg.message));
      else stream.resolve(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return this.protocolFailure(`answer to unknown request ${msg.id}`);
    this.pending.delete(msg.id);
    if (msg.type === "ERROR") p.reject(new RemoteError(msg.code, msg.message));
    else p.resolve(msg);
  }

  private protocolFailure(why: string): void {
    this.fail(new ConnectionError("protocol", `the daemon sent something this client does not understand: ${why}`));
    this.ws.terminate();
  }
}

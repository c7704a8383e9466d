import WebSocket from "ws";
import {
  BINARY_HEADER_BYTES,
  BinaryFrameKind,
  decodeBinaryFrame,
  encodeSignatures,
  writeBinaryHeader,
  type BlockSignatures,
  decodeFromServer,
  ErrorCode,
  encodeMessage,
  FIRST_PUSH_STREAM_ID,
  HANDSHAKE_TIMEOUT_MS,
  KNOWN_FEATURES,
  MAX_FRAME_BYTES,
  SUPPORTED_PROTOCOL_VERSIONS,
  FEATURE_SINCE,
  type ClientRequest,
  type CompressMode,
  type FileEnd,
  type FromServerMessage,
  type GitRootState,
  type HaltedRoot,
  type Push,
  type Welcome,
} from "@zync/protocol";
import {
  CompressionChoice,
  deflateNegotiated,
  handshakeProof,
  hashBytes,
  InboundFlow,
  PER_MESSAGE_DEFLATE,
  TurnCorker,
  type CorkableSocket,
  newNonce,
  proofMatches,
  sendFileFrames,
  sendWithBackpressure,
  type HandshakeTranscript,
  type SentFile,
} from "@zync/node";
import { webSocketUrl } from "./serverAddress.js";

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

/**
 * Where and how to connect; `features` are offered in HELLO (all this build knows when not given), `compress` says
 * how this side uses feature `compress` (auto when not given; never leaves it out of the offer).
 */
export type ConnectOptions = {
  url: string;
  token: string;
  clientId: string;
  live: boolean;
  timeoutMs?: number;
  features?: readonly string[];
  compress?: CompressMode;
  /**
   * First pages of changes to ask for right after AUTH, without waiting for WELCOME (the daemon answers frames in
   * order, so after WELCOME); a later request for the same page gets that answer. Nothing in them is secret, and no
   * answer is used before WELCOME's proof is verified.
   */
  prefetch?: readonly FirstPage[];
};

/** A page of changes a connection may ask for before its handshake is over. */
export type FirstPage = { root: string; since: number; limit: number };

function pageKey(p: FirstPage): string {
  return `${p.root}\n${p.since}\n${p.limit}`;
}

/** Where the frames of feature "push" go (see pull/pushedContent.ts); each returns why a frame breaks the protocol. */
export type PushReceiver = {
  page(msg: Push): string | undefined;
  data(id: number, data: Uint8Array): boolean;
  end(id: number, msg: Extract<FromServerMessage, { type: "FILE_END" | "ERROR" }>): boolean;
};

type Pending = { resolve: (m: FromServerMessage) => void; reject: (e: Error) => void; expect?: FromServerMessage["type"] };
/** A request answered with binary frames of `kind` for its id, then FILE_END. */
type Stream = Pending & { kind: number; sink: (data: Uint8Array) => Promise<void> };

/** Answers keyed by the request type that asks for them. */
const ANSWER_TO = {
  PING: "PONG",
  GET_LAST_SEQUENCE: "LAST_SEQUENCE",
  GET_CHANGES: "CHANGES",
  ACK_CHANGES: "ACKED",
  BARRIER: "BARRIER_PASSED",
  PREPARE_UPSTREAM: "UPSTREAM_READY",
  FINALIZE_UPSTREAM: "UPSTREAM_DONE",
  CHECK_IGNORE: "IGNORE_CHECKED",
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
  /** The features this connection uses, as the daemon chose them from the offer (docs/protocol.md section 3.7). */
  readonly features: ReadonlySet<string>;
  /** Settles when the connection ends, with the reason. */
  readonly closed: Promise<ConnectionError>;
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, Stream>();
  private readonly changedListeners = new Set<(head: number) => void>();
  private readonly haltedListeners = new Set<(halted: readonly HaltedRoot[]) => void>();
  /** The roots E has halted, as WELCOME and the latest HALTED said. */
  halted: readonly HaltedRoot[];
  /** Feature "git": the git state of E's roots as the latest GIT_STATE said; undefined before the first. */
  gitState: readonly GitRootState[] | undefined;
  private readonly gitListeners = new Set<(roots: readonly GitRootState[]) => void>();
  private readonly inbound: InboundFlow;
  private readonly abandoned = new Set<number>();
  private pushReceiver: PushReceiver | undefined;
  /** When the last frame of any kind arrived (ms since the epoch); file data counts as a sign of life. */
  lastHeard = Date.now();
  private failure: ConnectionError | undefined;
  /** Which frames this side sends compressed: none unless feature `compress` was agreed. */
  private readonly compression: CompressionChoice;
  private readonly corker: TurnCorker;
  /** Answers to the pages asked for before WELCOME, until a request takes them. */
  private readonly prefetched = new Map<string, Promise<ChangesPage>>();

  private constructor(
    ws: WebSocket,
    welcome: Welcome,
    closed: Promise<ConnectionError>,
    compress: CompressMode,
    rttMs: number,
    socket: CorkableSocket | undefined,
    prefetch: readonly FirstPage[],
  ) {
    this.ws = ws;
    for (const page of prefetch) {
      const id = this.nextId++;
      const answer = new Promise<FromServerMessage>((resolve, reject) => this.pending.set(id, { resolve, reject, expect: "CHANGES" })) as Promise<ChangesPage>;
      answer.catch(() => undefined);
      this.prefetched.set(pageKey(page), answer);
    }
    this.corker = new TurnCorker(socket);
    this.inbound = new InboundFlow(ws);
    this.welcome = welcome;
    this.features = new Set(welcome.features);
    this.halted = welcome.halted;
    this.closed = closed;
    this.compression = new CompressionChoice(ws, compress);
    if (this.features.has("compress")) this.compression.enable(rttMs);
  }

  /**
   * Connects and runs the handshake (docs/protocol.md section 3): HELLO with a fresh nonce, CHALLENGE, AUTH with
   * this side's proof, WELCOME with the daemon's. The token itself never leaves this process, and nothing from the
   * other side is trusted before its proof is verified.
   */
  static open(opts: ConnectOptions): Promise<DaemonConnection> {
    const compress = opts.compress ?? "auto";
    const prefetch = opts.prefetch ?? [];
    const offered = (opts.features ?? KNOWN_FEATURES).filter((f) => f !== "compress" || compress !== "never");
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(webSocketUrl(opts.url), {
        maxPayload: MAX_FRAME_BYTES,
        // Feature `compress` rides on permessage-deflate, offered in the upgrade only when the feature is offered.
        perMessageDeflate: offered.includes("compress") ? { ...PER_MESSAGE_DEFLATE, zlibDeflateOptions: { ...PER_MESSAGE_DEFLATE.zlibDeflateOptions } } : false,
        handshakeTimeout: opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      });
      let conn: DaemonConnection | undefined;
      // An upgrade that is never followed by WELCOME must not hang a run.
      const handshakeTimer = setTimeout(() => {
        if (conn) return;
        ws.terminate();
        fail(new ConnectionError("unreachable", `${opts.url} accepted the connection but did not answer the handshake`));
      }, opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
      let settleClosed: (e: ConnectionError) => void = () => undefined;
      const closed = new Promise<ConnectionError>((r) => (settleClosed = r));
      const fail = (err: ConnectionError): void => {
        clearTimeout(handshakeTimer);
        if (conn) conn.fail(err);
        else reject(err);
        settleClosed(err);
      };
      const notTheDaemon = (why: string): void => {
        ws.terminate();
        // Whatever answered cannot show that it knows the token (perhaps someone else listens on R while the tunnel is down).
        fail(new ConnectionError("protocol", `the server at ${opts.url} could not prove it knows the token: it is not your zync daemon (${why}; is the tunnel up?)`));
      };
      ws.on("unexpected-response", (_req, res) => {
        const err =
          res.statusCode === 401
            ? new ConnectionError("protocol", `${opts.url} answered HTTP 401, as a zync daemon older than this client does (protocol 1 sent the token in clear); upgrade zync-daemon on E`)
            : new ConnectionError("protocol", `${opts.url} answered HTTP ${res.statusCode ?? "?"}; is it a zync daemon?`);
        res.resume();
        ws.terminate();
        fail(err);
      });
      ws.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
          fail(new ConnectionError("protocol", `the daemon at ${opts.url} sent a frame larger than ${MAX_FRAME_BYTES} bytes (once inflated), which the protocol does not allow`));
          return;
        }
        fail(new ConnectionError("unreachable", `cannot reach the daemon at ${opts.url}: ${err.code ?? err.message}`));
      });
      ws.on("close", (code, reason) => {
        fail(new ConnectionError("closed", `the daemon closed the connection (${code}${reason.length ? ` ${printable(reason.toString())}` : ""})`));
      });
      const clientNonce = newNonce();
      let transcript: HandshakeTranscript | undefined;
      let socket: CorkableSocket | undefined;
      ws.on("upgrade", (res) => (socket = res.socket));
      // HELLO out, CHALLENGE back: one round trip of the link, which the compression choice goes by.
      let helloAt = 0;
      let rttMs = 0;
      ws.on("open", () => {
        helloAt = performance.now();
        ws.send(encodeMessage({ type: "HELLO", versions: [...SUPPORTED_PROTOCOL_VERSIONS], clientId: opts.clientId, live: opts.live, nonce: clientNonce, features: offered }));
      });
      ws.on("message", (data: Buffer, isBinary) => {
        if (conn) {
          conn.onFrame(data, isBinary);
          return;
        }
        const decoded = isBinary ? undefined : decodeFromServer(data.toString("utf8"));
        const msg = decoded?.ok ? decoded.message : undefined;
        if (msg?.type === "ERROR" && msg.code === ErrorCode.Unauthorized && transcript !== undefined) {
          ws.terminate();
          fail(new ConnectionError("unauthorized", `the daemon at ${opts.url} says the token is wrong; check ZYNC_TOKEN or --token-file`));
          return;
        }
        if (msg?.type === "ERROR" && msg.code === ErrorCode.VersionMismatch && transcript === undefined) {
          ws.terminate();
          fail(new ConnectionError("protocol", `handshake with ${opts.url} failed: ${printable(msg.message)}`));
          return;
        }
        if (transcript === undefined) {
          if (msg?.type !== "CHALLENGE") return notTheDaemon(`it answered HELLO with ${describe(msg)} instead of CHALLENGE`);
          if (!(SUPPORTED_PROTOCOL_VERSIONS as readonly number[]).includes(msg.version)) {
            return notTheDaemon(`it chose protocol version ${msg.version}, which this client never offered`);
          }
          rttMs = performance.now() - helloAt;
          transcript = { version: msg.version, clientNonce, daemonNonce: msg.nonce, clientId: opts.clientId };
          ws.send(encodeMessage({ type: "AUTH", proof: handshakeProof(opts.token, "client", transcript) }));
          // Pipelined: ids 1..n, as the connection registers them when WELCOME has been verified.
          for (const [i, p] of prefetch.entries()) ws.send(encodeMessage({ type: "GET_CHANGES", id: i + 1, since: p.since, root: p.root, limit: p.limit }));
          return;
        }
        if (msg?.type !== "WELCOME") return notTheDaemon(`it answered AUTH with ${describe(msg)} instead of WELCOME`);
        if (msg.version !== transcript.version || !proofMatches(opts.token, "daemon", transcript, msg.proof)) {
          return notTheDaemon("its proof is wrong");
        }
        const unasked = msg.features.find((f) => !offered.includes(f));
        if (unasked !== undefined) {
          ws.terminate();
          fail(new ConnectionError("protocol", `the daemon at ${opts.url} chose the feature "${unasked}", which this client never offered`));
          return;
        }
        const tooNew = msg.features.find((f) => (FEATURE_SINCE[f] ?? 3) > msg.version);
        if (tooNew !== undefined) {
          ws.terminate();
          fail(new ConnectionError("protocol", `the daemon at ${opts.url} chose the feature "${tooNew}" on a protocol-${msg.version} connection, which cannot carry it`));
          return;
        }
        if (msg.features.includes("compress") && !deflateNegotiated(ws)) {
          ws.terminate();
          fail(new ConnectionError("protocol", `the daemon at ${opts.url} chose the feature "compress" without agreeing to permessage-deflate in the upgrade`));
          return;
        }
        clearTimeout(handshakeTimer);
        conn = new DaemonConnection(ws, msg, closed, compress, rttMs, socket, prefetch);
        resolve(conn);
      });
    });
  }

  /** Sends a request and resolves with its answer; an ERROR answer rejects with a RemoteError. */
  request<T extends keyof AnswerTo>(msg: Ask<T> & { type: T }): Promise<Answer<T>> {
    if (msg.type === "GET_CHANGES") {
      const ask = msg as unknown as Ask<"GET_CHANGES">;
      const key = ask.root === undefined || ask.limit === undefined ? undefined : pageKey({ root: ask.root, since: ask.since, limit: ask.limit });
      const early = key === undefined ? undefined : this.prefetched.get(key);
      if (early !== undefined) {
        this.prefetched.delete(key!);
        return early as Promise<Answer<T>>;
      }
    }
    const id = this.nextId++;
    return new Promise<FromServerMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(id, { resolve, reject, expect: ANSWER_TO[msg.type] });
      this.sendText(encodeMessage({ ...msg, id } as ClientRequest));
    }) as Promise<Answer<T>>;
  }

  /** Fetches a file; `sink` receives each chunk in order and is awaited before later chunks are written. */
  getFile(root: string, path: string, hash: string | undefined, sink: (data: Uint8Array) => Promise<void>): Promise<FileEnd> {
    return this.stream(BinaryFrameKind.FileData, sink, (id) => [encodeMessage({ type: "GET_FILE", id, root, path, ...(hash ? { hash } : {}) })]);
  }

  /**
   * Fetches a past version of `root`/`path` by hash from E's version store (feature "versions", docs/protocol.md
   * section 14.10): the bytes, checked against `hash`, or undefined when E does not hold that version of that
   * path (NOT_FOUND). More than `maxBytes`, or bytes that do not hash to `hash`, is an error.
   */
  async getVersion(root: string, path: string, hash: string, maxBytes: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let total = 0;
    let end: FileEnd;
    try {
      end = await this.stream(BinaryFrameKind.FileData, (data) => {
        total += data.byteLength;
        if (total <= maxBytes) parts.push(Buffer.from(data));
        return Promise.resolve();
      }, (id) => [encodeMessage({ type: "GET_VERSION", id, root, path, hash })]);
    } catch (err) {
      if (err instanceof RemoteError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
    // Either is E's fault, not the connection's: that path stays a conflict and the pass goes on.
    if (total > maxBytes) throw new RemoteError(ErrorCode.ContentMismatch, `E's version ${hash} of ${root}/${path} is larger than ${maxBytes} bytes`);
    const bytes = Buffer.concat(parts);
    if (end.hash !== hash || (await hashBytes(bytes)) !== hash) throw new RemoteError(ErrorCode.ContentMismatch, `E's version ${hash} of ${root}/${path} arrived damaged`);
    return bytes;
  }

  /**
   * Fetches a file as a delta against R's base (feature "delta", docs/protocol.md section 14.6): the base's
   * signatures go first, then GET_DELTA; `sink` receives the op stream, frame by frame, in order.
   */
  getDelta(root: string, path: string, hash: string | undefined, base: BlockSignatures, sink: (data: Uint8Array) => Promise<void>): Promise<FileEnd> {
    return this.stream(BinaryFrameKind.DeltaOps, sink, (id) => {
      const signatures = encodeSignatures(base, BINARY_HEADER_BYTES);
      writeBinaryHeader(signatures, id, BinaryFrameKind.DeltaSignatures);
      return [signatures, encodeMessage({ type: "GET_DELTA", id, root, path, ...(hash ? { hash } : {}), blockSize: base.blockSize, baseSize: base.baseSize })];
    });
  }

  /** Sends the frames of a request answered with binary frames of `kind`, then FILE_END. */
  private stream(kind: number, sink: (data: Uint8Array) => Promise<void>, frames: (id: number) => (string | Uint8Array)[]): Promise<FileEnd> {
    const id = this.nextId++;
    return new Promise<FromServerMessage>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      let chain = Promise.resolve();
      const ordered = (data: Uint8Array): Promise<void> => (chain = chain.then(() => sink(data)));
      this.streams.set(id, {
        kind,
        sink: ordered,
        // FILE_END is only final once every chunk before it has been written.
        resolve: (m) => void chain.then(() => resolve(m), reject),
        reject,
      });
      for (const frame of frames(id)) {
        if (typeof frame === "string") this.sendText(frame);
        else {
          // Block signatures are hashes: they do not compress.
          this.corker.beforeSend();
          this.ws.send(frame, { compress: false });
        }
      }
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
    this.sendText(encodeMessage({ type: "UPSTREAM_FILE", id, session, path }));
    const compress = this.compression.forFile(path);
    const sent = await sendFileFrames(abs, id, async (frame) => {
      if (refused) throw refused;
      this.corker.beforeSend();
      await sendWithBackpressure(this.ws, frame, compress(frame));
    });
    if (!refused) this.sendText(encodeMessage({ type: "UPSTREAM_FILE_END", id, size: sent.size, hash: sent.hash }));
    await stored;
    return sent;
  }

  /** Routes pushed pages and streams (feature "push") to `receiver`. */
  onPush(receiver: PushReceiver): void {
    this.pushReceiver = receiver;
  }

  /** Sends a text frame, compressed when the connection's compression choice says so. */
  private sendText(text: string): void {
    this.corker.beforeSend();
    this.ws.send(text, { compress: this.compression.text(text) });
  }

  /** Calls `listener` whenever the daemon announces new changes. */
  onChanged(listener: (head: number) => void): () => void {
    this.changedListeners.add(listener);
    return () => this.changedListeners.delete(listener);
  }

  /** Calls `listener` whenever the daemon sends the git state of its roots (feature "git"). */
  onGitState(listener: (roots: readonly GitRootState[]) => void): () => void {
    this.gitListeners.add(listener);
    return () => this.gitListeners.delete(listener);
  }

  /** Calls `listener` whenever the daemon announces a new set of halted roots. */
  onHalted(listener: (halted: readonly HaltedRoot[]) => void): () => void {
    this.haltedListeners.add(listener);
    return () => this.haltedListeners.delete(listener);
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
      if (frame.message.id >= FIRST_PUSH_STREAM_ID) {
        if (frame.message.kind !== BinaryFrameKind.FileData) return this.protocolFailure(`a binary frame of kind ${frame.message.kind} on pushed stream ${frame.message.id}`);
        if (!this.features.has("push") || !this.pushReceiver?.data(frame.message.id, frame.message.data)) return this.protocolFailure(`data for unknown pushed stream ${frame.message.id}`);
        return;
      }
      const stream = this.streams.get(frame.message.id);
      if (!stream) {
        // The rest of a transfer this side gave up on (its disk write failed) is dropped.
        if (this.abandoned.has(frame.message.id)) return;
        return this.protocolFailure(`data for unknown request ${frame.message.id}`);
      }
      if (frame.message.kind !== stream.kind) return this.protocolFailure(`a binary frame of kind ${frame.message.kind} for request ${frame.message.id}`);
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
    if (msg.type === "HALTED") {
      this.halted = msg.halted;
      for (const l of this.haltedListeners) l(msg.halted);
      return;
    }
    if (msg.type === "GIT_STATE") {
      if (!this.features.has("git")) return this.protocolFailure("a GIT_STATE on a connection that did not agree to feature git");
      this.gitState = msg.roots;
      for (const l of this.gitListeners) l(msg.roots);
      return;
    }
    if ((msg.type === "CHANGES" || msg.type === "PUSH") && msg.batches !== undefined && !this.features.has("git")) {
      return this.protocolFailure(`batches in ${msg.type} on a connection that did not agree to feature git`);
    }
    if (msg.type === "PUSH") {
      if (!this.features.has("push")) return this.protocolFailure("a PUSH on a connection that did not agree to feature push");
      const broken = this.pushReceiver?.page(msg);
      if (broken !== undefined) this.protocolFailure(broken);
      return;
    }
    if ((msg.type === "FILE_END" || msg.type === "ERROR") && msg.id !== undefined && msg.id >= FIRST_PUSH_STREAM_ID) {
      if (!this.features.has("push") || !this.pushReceiver?.end(msg.id, msg)) this.protocolFailure(`an end of unknown pushed stream ${msg.id}`);
      return;
    }
    if (msg.type === "WELCOME" || msg.type === "CHALLENGE") return this.protocolFailure(`unexpected ${msg.type} after the handshake`);
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

/** Text from the other side, with control characters escaped, so it cannot rewrite the terminal it is printed on. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A frame received during the handshake, named for a message. */
function describe(msg: FromServerMessage | undefined): string {
  if (msg === undefined) return "something that is not a zync message";
  return msg.type === "ERROR" ? `ERROR ${msg.code}: ${printable(msg.message)}` : msg.type;
}

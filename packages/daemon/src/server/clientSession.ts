import type { WebSocket } from "ws";
import {
  BinaryFrameKind,
  decodeBinaryFrame,
  decodeSignatures,
  decodeFromClient,
  encodeMessage,
  ErrorCode,
  HANDSHAKE_TIMEOUT_MS,
  MAX_ACTIVE_DELTAS,
  KNOWN_FEATURES,
  MAX_FRAME_BYTES,
  MAX_CHANGES_PER_PAGE,
  MAX_HALT_REASON,
  ProtocolError,
  toProtocolError,
  type Auth,
  type ClientRequest,
  type CompressMode,
  type FromServerMessage,
  type FileState,
  type HaltedRoot,
  type GetDelta,
  type Hello,
} from "@zync/protocol";
import {
  CompressionChoice,
  TurnCorker,
  type CorkableSocket,
  deflateNegotiated,
  isUnreadable,
  SafeRoot,
  sendDeltaFrames,
  sendWithBackpressure,
  type FlowSocket,
  type ExplainedIgnoreRules,
  type Logger,
} from "@zync/node";
import type { ChangeLog } from "../store/changeLog.js";
import type { StagingStore } from "../upstream/stagingStore.js";
import type { ActivityLog } from "../store/activityLog.js";
import { UpstreamReceiver } from "../upstream/upstreamReceiver.js";
import { DeltaBases } from "./deltaBases.js";
import { DaemonHandshake, type HandshakeComplaint, type HandshakeRefusal } from "./daemonHandshake.js";
import { sendHeldContent, type ContentCache } from "./contentCache.js";
import { servedVersion, VERSIONS_FEATURE, type ServedVersions } from "./versionServing.js";
import { LivePush } from "./livePush.js";
import { answerCheckIgnore } from "../explain/ignoreExplanation.js";
import type { GitBoard } from "../git/gitBoard.js";

/** What a connection needs from the daemon. */
export type SessionContext = {
  /** The shared token, to check the client's proof and make the daemon's. */
  token: string;
  /** How long a connection may stay without a verified proof before it is closed (default HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  log: ChangeLog;
  activity: ActivityLog;
  staging: StagingStore;
  /** Served roots by name. */
  roots: ReadonlyMap<string, SafeRoot>;
  /** E's ignore rules of each served root, which upstream offers are checked against and CHECK_IGNORE explains. */
  rules?: ReadonlyMap<string, ExplainedIgnoreRules>;
  logger: Logger;
  /** Passes a barrier in the named roots and resolves with the head then (docs/protocol.md section 5.12). */
  barrier?: (roots: string[]) => Promise<number>;
  /** Recently read file content, shared by every connection. */
  content: ContentCache;
  /** How this daemon uses feature `compress` (docs/protocol.md section 14.6); auto when not given. */
  compress?: CompressMode;
  /** E's version store, served with feature `versions` (docs/protocol.md section 14.10); not offered without it. */
  versions?: ServedVersions;
  /** Feature `git`: the roots' git state and the batches of pages (docs/protocol.md section 14.11). */
  git?: GitBoard;
};

/** Requests one connection may have in progress at once (each may hold a file open or a reply in memory). */
export const MAX_ACTIVE_REQUESTS = 64;

/** Frames one connection may have waiting behind those; one more is answered with BUSY. */
export const MAX_QUEUED_FRAMES = 1024;

/** A frame waiting its turn: frames of a connection are handled in the order they arrive. */
type Queued = { binary: true; data: Buffer } | { binary: false; msg: ClientRequest };

/** Errors a peer can cause on E's disk that name a problem with what it asked for, not a failure of E. */
const PEER_ERRNO: Readonly<Record<string, string>> = {
  ENAMETOOLONG: "a name in the request is too long for E's filesystem",
  EILSEQ: "a name in the request cannot be held by E's filesystem",
};

/**
 * One client connection: the HELLO handshake first, then requests answered in any order. Every text frame is
 * decoded through the protocol codec; a malformed one gets an ERROR reply and the connection stays up.
 */
export class ClientSession {
  private readonly ws: WebSocket;
  private readonly ctx: SessionContext;
  private clientId: string | undefined;
  /** The features agreed in the handshake (docs/protocol.md section 3.7); none before WELCOME. */
  private features: ReadonlySet<string> = new Set();
  private unsubscribe: (() => void) | undefined;
  private unsubscribeHalts: (() => void) | undefined;
  private unsubscribeGit: (() => void) | undefined;
  private notifyQueued = false;
  /** Feature "push" on a live connection that agreed it: changes and small files go out without being asked for. */
  private push: LivePush | undefined;
  private readonly upstream: UpstreamReceiver;
  private readonly historyRow: number;
  private readonly totals = { changes: 0, files: 0, bytes: 0 };
  private readonly handshake: DaemonHandshake;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Why reading from the socket is paused now: uploads waiting for the disk, or frames waiting their turn. */
  private readonly holds = new Set<"upload" | "queue">();
  private readonly queue: Queued[] = [];
  private active = 0;
  private readonly deltaBases = new DeltaBases();
  private activeDeltas = 0;
  private challengedAt = 0;
  private readonly corker: TurnCorker;
  /** Which frames go compressed: none unless feature `compress` was agreed. */
  private readonly compression: CompressionChoice;

  constructor(ws: WebSocket, ctx: SessionContext, address?: string, socket?: CorkableSocket) {
    this.ws = ws;
    this.corker = new TurnCorker(socket);
    this.ctx = ctx;
    let row = 0;
    this.note("a new connection", () => (row = ctx.activity.opened(address)));
    this.historyRow = row;
    this.compression = new CompressionChoice(ws, ctx.compress ?? "auto");
    if (ctx.compress !== "never" && deflateNegotiated(ws)) this.compression.probe();
    // `compress` rides on permessage-deflate: it is chosen only where the upgrade agreed to that extension.
    const compressible = ctx.compress !== "never" && deflateNegotiated(ws);
    this.handshake = new DaemonHandshake(ctx.token, undefined, KNOWN_FEATURES.filter((f) => (f !== "compress" || compressible) && (f !== VERSIONS_FEATURE || ctx.versions !== undefined)));
    // A connection that never proves the token is not kept open for ever.
    this.handshakeTimer = setTimeout(() => ws.close(1008, "no proof of the token in time"), ctx.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
    this.upstream = new UpstreamReceiver(this.uploadFlow(), ctx.staging, (name) => {
      const root = ctx.roots.get(name);
      return root && { abs: root.root, rules: ctx.rules?.get(name) };
    });
    ws.on("message", (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on("close", () => {
      clearTimeout(this.handshakeTimer);
      this.queue.length = 0;
      this.unsubscribe?.();
      this.unsubscribeHalts?.();
      this.unsubscribeGit?.();
      this.push?.close();
      void this.upstream.close();
      this.note("the end of a connection", () => ctx.activity.closed(this.historyRow, this.clientId, this.totals));
    });
    ws.on("error", (err: Error & { code?: string }) => {
      // The library closes the connection (1009) when a frame, once inflated, would pass the limit.
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.ctx.logger.warn(`closed a connection: it sent a frame larger than ${MAX_FRAME_BYTES} bytes (once inflated)`);
    });
  }

  /** Sends a message; a connection that died meanwhile is not an error here (its close handler cleans up). */
  private send(message: FromServerMessage): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    return this.sendFrame(encodeMessage(message)).catch(() => undefined);
  }

  /**
   * Sends one frame, waiting for the socket to drain first when too much is queued for this client. Compressed
   * when `compress` says so, else as the connection's compression choice decides for a frame of its kind.
   */
  private sendFrame(frame: Uint8Array | string, compress?: boolean): Promise<void> {
    const packed = compress ?? (typeof frame === "string" ? this.compression.text(frame) : this.compression.forFile("")(frame));
    this.corker.beforeSend();
    return sendWithBackpressure(this.ws, frame, packed);
  }

  private hold(why: "upload" | "queue", on: boolean): void {
    if (on) this.holds.add(why);
    else this.holds.delete(why);
    if (this.holds.size > 0 && !this.ws.isPaused) this.ws.pause();
    else if (this.holds.size === 0 && this.ws.isPaused) this.ws.resume();
  }

  /** The socket as upload flow control sees it: its pause and resume are one reason among others here. */
  private uploadFlow(): FlowSocket {
    const holds = this.holds;
    const hold = (on: boolean): void => this.hold("upload", on);
    return {
      bufferedAmount: 0,
      get isPaused() {
        return holds.has("upload");
      },
      send: () => undefined,
      pause: () => hold(true),
      resume: () => hold(false),
    };
  }

  /** Bookkeeping must never take a connection (or the daemon) down: a failure is logged and the work goes on. */
  private note(what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      this.ctx.logger.warn(`could not record ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (this.clientId === undefined) {
        void this.send({ type: "ERROR", code: ErrorCode.BadMessage, message: "binary frame refused: send HELLO first" });
        return;
      }
      this.enqueue({ binary: true, data });
      return;
    }
    const decoded = decodeFromClient(data.toString("utf8"));
    if (!decoded.ok) {
      void this.send({ type: "ERROR", code: ErrorCode.BadMessage, message: decoded.error });
      return;
    }
    const msg = decoded.message;
    if (msg.type === "HELLO") return this.onHello(msg);
    if (msg.type === "AUTH") return this.onAuth(msg);
    if (this.clientId === undefined) {
      void this.send({ type: "ERROR", id: msg.id, code: ErrorCode.NotReady, message: "send HELLO first" });
      return;
    }
    this.enqueue({ binary: false, msg });
  }

  /** Frames wait in arrival order; a connection that sends more than it lets the daemon answer is told so. */
  private enqueue(item: Queued): void {
    if (this.queue.length >= MAX_QUEUED_FRAMES) {
      const message = `this connection has ${MAX_QUEUED_FRAMES} frames waiting; wait for answers before sending more`;
      if (!item.binary && item.msg.type === "UPSTREAM_FILE") this.upstream.refuse(item.msg.id);
      void this.send(item.binary ? { type: "ERROR", code: ErrorCode.Busy, message } : { type: "ERROR", id: item.msg.id, code: ErrorCode.Busy, message });
      return;
    }
    this.queue.push(item);
    this.drain();
  }

  /**
   * Handles waiting frames in order while fewer than {@link MAX_ACTIVE_REQUESTS} requests are in progress. A request
   * is in progress until its answer is handed to the network, so a client that does not read its answers soon has
   * its requests wait here; while any wait, the socket is not read, and TCP holds that client back alone.
   */
  private drain(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (!next.binary && this.active >= MAX_ACTIVE_REQUESTS) break;
      this.queue.shift();
      if (next.binary) this.onData(next.data);
      else this.start(next.msg);
    }
    this.hold("queue", this.queue.length > 0);
  }

  private onData(data: Buffer): void {
    const frame = decodeBinaryFrame(data);
    if (frame.ok && frame.message.kind === BinaryFrameKind.DeltaSignatures) {
      const refusal = this.deltaBases.put(frame.message.id, frame.message.data, this.features);
      if (refusal !== undefined) void this.send(refusal.toWire(frame.message.id));
      return;
    }
    const upload = frame.ok && frame.message.kind === BinaryFrameKind.FileData;
    if (!upload || !this.upstream.data(frame.message.id, frame.message.data)) {
      const why = !frame.ok ? frame.error : upload ? `no upload is open with id ${frame.message.id}` : `a client does not send frames of kind ${frame.message.kind}`;
      void this.send({ type: "ERROR", code: ErrorCode.BadMessage, message: `binary frame refused: ${why}` });
    }
  }

  private start(msg: ClientRequest): void {
    this.active++;
    this.handle(msg)
      .catch((err: unknown) => {
        const pe = this.wireError(err, msg.type);
        return this.send(pe.toWire(msg.id));
      })
      .finally(() => {
        this.active--;
        this.drain();
      })
      .catch(() => undefined);
  }

  /**
   * What R is told about a failure. Refusals keep their code and sentence (which name only wire paths); a failure
   * on E is logged here in full and reported to R without E's paths or system details. Name problems a peer can
   * cause become a refusal of that request, not an INTERNAL error.
   */
  private wireError(err: unknown, what: string): ProtocolError {
    if (err instanceof ProtocolError && err.code !== ErrorCode.Internal) return err;
    const errno = (err as NodeJS.ErrnoException | undefined)?.code;
    const peer = errno === undefined ? undefined : PEER_ERRNO[errno];
    if (peer !== undefined) return new ProtocolError(ErrorCode.BadPath, peer);
    this.ctx.logger.warn(`request ${what} failed: ${toProtocolError(err).message}`);
    return new ProtocolError(ErrorCode.Internal, `the daemon could not complete ${what}${errno ? ` (${errno})` : ""}; its log on E has the details`);
  }

  // The handshake (docs/protocol.md section 3): nothing but CHALLENGE goes out before the client's proof is verified.
  private onHello(msg: Hello): void {
    const answer = this.handshake.hello(msg);
    this.challengedAt = performance.now();
    if (answer.kind === "challenge") void this.send(answer.message);
    else this.handshakeFailed(answer);
  }

  private onAuth(msg: Auth): void {
    const answer = this.handshake.auth(msg);
    if (answer.kind !== "authenticated") return this.handshakeFailed(answer);
    clearTimeout(this.handshakeTimer);
    this.note("a client's identity", () => this.ctx.activity.identified(this.historyRow, answer.clientId));
    this.clientId = answer.clientId;
    const { log } = this.ctx;
    const { version, proof, features } = answer;
    this.features = new Set(features);
    // CHALLENGE out, AUTH back: one round trip of the link (the proof itself takes microseconds).
    if (this.features.has("compress")) this.compression.enable(performance.now() - this.challengedAt);
    const roots = [...this.ctx.roots.keys()];
    void this.send({ type: "WELCOME", version, epoch: log.epoch, head: log.head(), horizon: log.horizon(), roots, features, halted: this.halted(), proof });
    // A root E halts or resumes later is announced to every authenticated client, so a script's wait can stop too.
    this.unsubscribeHalts = this.ctx.activity.onHaltsChanged(() => void this.send({ type: "HALTED", halted: this.halted() }));
    const git = this.features.has("git") ? this.ctx.git : undefined;
    if (git !== undefined) {
      const state = (): FromServerMessage => ({ type: "GIT_STATE", roots: git.all().filter((r) => this.ctx.roots.has(r.root)) });
      void this.send(state());
      this.unsubscribeGit = git.onChange(() => void this.send(state()));
    }
    if (answer.live && this.features.has("push")) this.push = this.livePush();
    this.unsubscribe = answer.live ? log.onRecorded(() => this.queueNotify()) : undefined;
  }

  private handshakeFailed(answer: HandshakeRefusal | HandshakeComplaint): void {
    void this.send(answer.error);
    if (answer.kind !== "refuse") return;
    if (answer.error.code === ErrorCode.Unauthorized) this.ctx.logger.warn("refused a connection: its proof of the token was wrong");
    this.ws.close(answer.close.code, answer.close.reason);
  }

  /** The served roots whose recording is halted, as the wire carries them (docs/protocol.md section 6.13). */
  private halted(): HaltedRoot[] {
    return this.ctx.activity
      .halted()
      .filter((h) => this.ctx.roots.has(h.root))
      .map((h) => ({ root: h.root, since: Math.max(0, Math.trunc(h.since)), reason: h.reason.slice(0, MAX_HALT_REASON) }));
  }

  /** Coalesces notices: one CHANGED (or push) per turn of the event loop, carrying the newest head. */
  private queueNotify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      if (this.push) this.push.notify();
      else void this.send({ type: "CHANGED", head: this.ctx.log.head() });
    });
  }

  private livePush(): LivePush {
    return new LivePush({
      log: this.ctx.log,
      roots: this.ctx.roots,
      content: this.ctx.content,
      sendMessage: (m) => this.send(m),
      sendFrame: (f) => (this.ws.readyState === this.ws.OPEN ? this.sendFrame(f) : Promise.reject(new Error("the connection closed"))),
      counted: (changes, files, bytes) => {
        this.totals.changes += changes;
        this.totals.files += files;
        this.totals.bytes += bytes;
      },
      logger: this.ctx.logger,
      ...(this.features.has("git") && this.ctx.git !== undefined ? { batches: this.ctx.git.batchesFor.bind(this.ctx.git) } : {}),
    });
  }

  /**
   * The absolute path of a file the change log records as live in a served root: never an ignored or unrecorded
   * path. Every folder on the way is checked afresh (one may have become a symlink since the last request); the
   * file itself is checked when it is opened (NOT_FOUND for what is no longer a regular file, UNREADABLE for what
   * this user may not read).
   */
  private async servedFile(rootName: string, path: string): Promise<{ abs: string; state: FileState }> {
    const root = this.ctx.roots.get(rootName);
    if (root === undefined) throw unknownRoot(rootName);
    const state = this.ctx.log.get(rootName, path)?.state;
    if (state?.kind !== "file") {
      throw new ProtocolError(ErrorCode.NotFound, `${rootName}/${path} is not a synced file`);
    }
    const abs = await new SafeRoot(root.root).resolve(path).catch((err: unknown) => {
      throw isUnreadable(err) ? new ProtocolError(ErrorCode.Unreadable, `${rootName}/${path}: a folder on the way cannot be read on E`) : err;
    });
    return { abs, state };
  }

  /** Answers a GET_DELTA whose signatures arrived: op frames, then FILE_END (docs/protocol.md section 14.6). */
  private async sendDelta(msg: GetDelta, signatures: Uint8Array): Promise<void> {
    const base = decodeSignatures(signatures, msg.blockSize, msg.baseSize);
    if (!base.ok) throw new ProtocolError(ErrorCode.BadMessage, `GET_DELTA refused: ${base.error}`);
    const { abs } = await this.servedFile(msg.root, msg.path);
    const compress = this.compression.forFile(msg.path);
    const { streamBytes, ...sent } = await sendDeltaFrames(abs, msg.id, base.message, (frame) => this.sendFrame(frame, compress(frame))).catch(naming(msg.root, msg.path));
    this.totals.files++;
    this.totals.bytes += streamBytes;
    return this.send({ type: "FILE_END", id: msg.id, ...sent });
  }

  private async handle(msg: ClientRequest): Promise<void> {
    const { log } = this.ctx;
    switch (msg.type) {
      case "PING":
        return this.send({ type: "PONG", id: msg.id });
      case "GET_LAST_SEQUENCE":
        return this.send({ type: "LAST_SEQUENCE", id: msg.id, seq: log.head() });
      case "GET_CHANGES": {
        if (msg.root !== undefined && !this.ctx.roots.has(msg.root)) throw unknownRoot(msg.root);
        const limit = Math.min(msg.limit ?? MAX_CHANGES_PER_PAGE, MAX_CHANGES_PER_PAGE);
        const page = log.changesSince(msg.since, limit, msg.root);
        const changes = msg.root === undefined ? page.changes.filter((c) => this.ctx.roots.has(c.root)) : page.changes;
        this.totals.changes += changes.length;
        this.push?.served(msg.root, page);
        const batches = this.features.has("git") ? (this.ctx.git?.batchesFor(changes) ?? []) : [];
        return this.send({ type: "CHANGES", id: msg.id, changes, next: page.next, head: page.head, more: page.more, ...(batches.length > 0 ? { batches } : {}) });
      }
      case "GET_FILE": {
        const { abs, state } = await this.servedFile(msg.root, msg.path);
        const compress = this.compression.forFile(msg.path);
        const sent = await this.ctx.content.send(msg.root, msg.path, abs, state, msg.id, (frame) => this.sendFrame(frame, compress(frame))).catch(naming(msg.root, msg.path));
        this.totals.files++;
        this.totals.bytes += sent.size;
        return this.send({ type: "FILE_END", id: msg.id, ...sent });
      }
      case "GET_DELTA": {
        const signatures = this.deltaBases.take(msg.id, this.features);
        if (this.activeDeltas >= MAX_ACTIVE_DELTAS) {
          throw new ProtocolError(ErrorCode.Busy, `${MAX_ACTIVE_DELTAS} deltas are in progress on this connection; wait for one to end`);
        }
        this.activeDeltas++;
        try {
          return await this.sendDelta(msg, signatures);
        } finally {
          this.activeDeltas--;
        }
      }
      case "GET_VERSION": {
        const held = await servedVersion(msg, this.features, this.ctx.versions, this.ctx.rules?.get(msg.root), (root, path) => this.servedFile(root, path));
        const compress = this.compression.forFile(msg.path);
        const sent = await sendHeldContent(held, msg.id, (frame) => this.sendFrame(frame, compress(frame)));
        this.totals.files++;
        this.totals.bytes += sent.size;
        return this.send({ type: "FILE_END", id: msg.id, ...sent });
      }
      case "ACK_CHANGES":
        return this.send({ type: "ACKED", id: msg.id, seq: log.ack(this.clientId!, msg.seq) });
      case "BARRIER": {
        const names = msg.roots ?? [...this.ctx.roots.keys()];
        for (const name of names) if (!this.ctx.roots.has(name)) throw unknownRoot(name);
        if (this.ctx.barrier === undefined) throw new ProtocolError(ErrorCode.Busy, "this daemon cannot pass barriers");
        const seq = await this.ctx.barrier(names).catch((err: unknown) => {
          throw err instanceof Error && err.name === "BarrierTimeout" ? new ProtocolError(ErrorCode.Busy, err.message) : err;
        });
        return this.send({ type: "BARRIER_PASSED", id: msg.id, seq, halted: this.halted().filter((h) => names.includes(h.root)) });
      }
      case "PREPARE_UPSTREAM":
        return this.send(this.upstream.prepare(msg, this.clientId!));
      case "UPSTREAM_FILE":
        // No answer: data frames follow, and UPSTREAM_FILE_END is answered.
        return this.upstream.startFile(msg.id, msg.session, msg.path, this.clientId!);
      case "UPSTREAM_FILE_END":
        return this.send(await this.upstream.endFile(msg.id, msg.size, msg.hash));
      case "FINALIZE_UPSTREAM":
        return this.send(await this.upstream.finalize(msg.id, msg.session, this.clientId!));
      case "CHECK_IGNORE": {
        if (!this.features.has("explain")) throw new ProtocolError(ErrorCode.BadMessage, "CHECK_IGNORE needs feature explain, which this connection did not agree");
        const rules = this.ctx.roots.has(msg.root) ? this.ctx.rules?.get(msg.root) : undefined;
        if (rules === undefined) throw unknownRoot(msg.root);
        return this.send(answerCheckIgnore(msg, rules));
      }
    }
  }
}

/** Puts the root and path in front of a refusal's sentence. */
function naming(root: string, path: string): (err: unknown) => never {
  return (err) => {
    throw err instanceof ProtocolError ? new ProtocolError(err.code, `${root}/${path}: ${err.message}`) : err;
  };
}

function unknownRoot(name: string): ProtocolError {
  return new ProtocolError(ErrorCode.UnknownRoot, `the daemon does not serve a root named ${JSON.stringify(name)}`);
}

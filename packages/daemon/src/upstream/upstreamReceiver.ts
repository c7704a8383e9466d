import { existsSync } from "node:fs";
import {
  ErrorCode,
  ProtocolError,
  SessionStatus,
  type FromServerMessage,
  type PrepareUpstream,
} from "@zync/protocol";
import { InboundFlow, TempFile, type FlowSocket, type IgnoreRules } from "@zync/node";
import { reviewSession } from "./reviewSession.js";
import { unservedReason } from "./servedPaths.js";
import { SessionStateError } from "./sessionStates.js";
import type { StagingStore } from "./stagingStore.js";

type Upload = { session: number; path: string; hash: string; temp: Promise<TempFile>; chain: Promise<void> };

/** Uploads one connection may have open at once (each holds a file open on E). */
export const MAX_OPEN_UPLOADS = 16;

/** A served root as upstream needs it: its folder on E and the rules E serves it by. */
export type UpstreamRoot = { abs: string; rules: IgnoreRules | undefined };

/**
 * The daemon's half of upstream for one connection: creates or resumes sessions, receives each file into the
 * session's folder (checked against the hash R offered), and finalizes sessions. Content is stored under its
 * hash, so no path from R ever names a file on E here.
 */
export class UpstreamReceiver {
  private readonly uploads = new Map<number, Upload>();
  private readonly refused = new Set<number>();
  private readonly inbound: InboundFlow;
  private readonly staging: StagingStore;
  private readonly rootOf: (name: string) => UpstreamRoot | undefined;

  constructor(ws: FlowSocket, staging: StagingStore, rootOf: (name: string) => UpstreamRoot | undefined) {
    this.inbound = new InboundFlow(ws);
    this.staging = staging;
    this.rootOf = rootOf;
  }

  /**
   * Stages an offer. Refused whole, before anything is stored, when a path appears twice or when E does not serve
   * one of its paths (ignored by E's rules, or inside a .git folder): the refusal reads the same whether or not
   * the path exists on E, since E's disk is not looked at.
   */
  prepare(msg: PrepareUpstream, clientId: string): FromServerMessage {
    const root = this.rootOf(msg.root);
    if (root === undefined) throw new ProtocolError(ErrorCode.UnknownRoot, `the daemon does not serve a root named ${JSON.stringify(msg.root)}`);
    const paths = new Set<string>();
    for (const c of msg.changes) {
      if (paths.has(c.path)) throw new ProtocolError(ErrorCode.BadMessage, `${c.path} appears twice in the session`);
      paths.add(c.path);
    }
    if (root.rules !== undefined) {
      for (const c of msg.changes) {
        const why = unservedReason(root.rules, c);
        if (why !== undefined) throw new ProtocolError(ErrorCode.BadPath, `offer refused: ${why}; leave it out of the push (for example with --ignore)`);
      }
    }
    const { session, need } = this.staging.prepare(msg.key, clientId, msg.root, msg.changes);
    return { type: "UPSTREAM_READY", id: msg.id, session: session.id, status: session.status, need };
  }

  /** Starts receiving a file; its data frames carry the same id. A refused start makes them be dropped quietly. */
  startFile(id: number, sessionId: number, path: string, clientId: string): void {
    try {
      this.startFileOrThrow(id, sessionId, path, clientId);
    } catch (err) {
      this.refused.add(id);
      throw err;
    }
  }

  private startFileOrThrow(id: number, sessionId: number, path: string, clientId: string): void {
    if (this.uploads.size >= MAX_OPEN_UPLOADS) {
      throw new ProtocolError(ErrorCode.Busy, `this connection already has ${MAX_OPEN_UPLOADS} uploads open; end one before starting another`);
    }
    const session = this.receiving(sessionId, clientId);
    const change = this.staging.change(session, path);
    if (change?.state.kind !== "file") throw new ProtocolError(ErrorCode.BadSession, `${path} is not a file of session ${sessionId}`);
    if (this.uploads.has(id)) throw new ProtocolError(ErrorCode.BadMessage, `request id ${id} is already in use`);
    const temp = TempFile.create(this.staging.sessionDir(session));
    temp.catch(() => undefined);
    this.uploads.set(id, { session, path, hash: change.state.hash, temp, chain: Promise.resolve() });
  }

  /** Marks an upload id as refused without looking at it (its start was turned away), so its frames are dropped. */
  refuse(id: number): void {
    this.refused.add(id);
  }

  /** Takes one data frame; false when no upload has this id (frames of a refused upload are dropped). */
  data(id: number, bytes: Uint8Array): boolean {
    const up = this.uploads.get(id);
    if (!up) return this.refused.has(id);
    up.chain = this.inbound.track(bytes.byteLength, up.chain.then(async () => (await up.temp).write(bytes)));
    return true;
  }

  /** Completes a file: checks size and hash, then stores it under its hash. */
  async endFile(id: number, size: number, hash: string): Promise<FromServerMessage> {
    const up = this.uploads.get(id);
    if (!up) throw new ProtocolError(ErrorCode.BadSession, `no file upload with id ${id}`);
    this.uploads.delete(id);
    const temp = await up.temp;
    try {
      await up.chain;
      const got = await temp.finish({ mode: 0o600, mtimeMs: Date.now(), fsync: true });
      if (got.size !== size || got.hash !== hash) throw new ProtocolError(ErrorCode.ContentMismatch, `${up.path} arrived damaged`);
      if (hash !== up.hash) throw new ProtocolError(ErrorCode.ContentMismatch, `${up.path} changed on R after it was offered; run the upstream again`);
      // The session may have been aborted by a newer offer or rejected on E while the bytes arrived.
      const now = this.staging.owner(up.session)?.status;
      if (now !== SessionStatus.Receiving) throw stopped(up.session, now);
      await temp.commit(this.staging.blobPath(up.session, hash));
    } catch (err) {
      await temp.discard().catch(() => undefined);
      throw err;
    }
    if (!this.staging.markStaged(up.session, hash)) throw stopped(up.session, this.staging.owner(up.session)?.status);
    return { type: "UPSTREAM_STORED", id, path: up.path };
  }

  async finalize(id: number, sessionId: number, clientId: string): Promise<FromServerMessage> {
    const session = this.staging.get(sessionId);
    if (!session || session.clientId !== clientId) throw new ProtocolError(ErrorCode.BadSession, `no upstream session ${sessionId} of this client`);
    let done;
    try {
      done = this.staging.finalize(sessionId);
    } catch (err) {
      if (err instanceof SessionStateError) throw new ProtocolError(ErrorCode.BadSession, err.message);
      throw err;
    }
    const root = this.rootOf(done.root);
    // Counted without looking at paths E does not serve (there are none in a staged session, unless E's rules changed).
    const conflicts = root === undefined ? 0 : (await reviewSession(this.staging, sessionId, root.abs, root.rules)).filter((c) => c.decision === "conflict" && c.refused === undefined).length;
    return { type: "UPSTREAM_DONE", id, session: sessionId, status: done.status, changes: done.changes, conflicts };
  }

  /** Drops unfinished uploads when the connection ends; the session stays resumable. */
  async close(): Promise<void> {
    const open = [...this.uploads.values()];
    this.uploads.clear();
    await Promise.all(open.map((u) => u.temp.then((t) => t.discard(), () => undefined)));
  }

  private receiving(sessionId: number, clientId: string): number {
    const s = this.staging.owner(sessionId);
    if (s?.clientId !== clientId) throw new ProtocolError(ErrorCode.BadSession, `no upstream session ${sessionId} of this client`);
    if (s.status !== SessionStatus.Receiving) {
      throw new ProtocolError(ErrorCode.BadSession, `session ${sessionId} is not receiving content (it is ${s.status})`);
    }
    if (!existsSync(this.staging.sessionDir(sessionId))) throw new ProtocolError(ErrorCode.BadSession, `session ${sessionId} has no folder`);
    return sessionId;
  }
}

function stopped(session: number, status: string | undefined): ProtocolError {
  return new ProtocolError(ErrorCode.BadSession, `session ${session} stopped receiving content (it is ${status ?? "gone"})`);
}

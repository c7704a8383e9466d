import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import WebSocket from "ws";
import { handshakeProof, newNonce, proofMatches, type HandshakeTranscript } from "@zync/node";
import { waitFor } from "./waitFor.js";

/** How {@link RawSocket.open} introduces itself in HELLO. */
export type RawHello = { clientId?: string; live?: boolean; versions?: number[]; features?: string[] };

/** The URL `ws` opens: `unix:PATH` (as zync-client's --server takes it) becomes `ws+unix:PATH:/`. */
export function wsUrl(url: string): string {
  return url.startsWith("unix:") ? `ws+unix:${url.slice("unix:".length)}:/` : url;
}

/** One frame received from the daemon, in arrival order. */
export type Frame =
  | { binary: true; data: Buffer }
  | { binary: false; text: string; json: Record<string, unknown> | undefined };

/** Parses a text frame; undefined when it is not a JSON object. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the token the daemon uses (first line of its token file). */
export function readToken(tokenFile: string): string {
  return readFileSync(tokenFile, "utf8").split("\n")[0]!.trim();
}

/**
 * A bare WebSocket to the daemon that speaks whatever the test sends, records every frame it gets, and lets a test
 * wait for the answer to what it just sent.
 */
export class RawSocket {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push({ binary: true, data: Buffer.from(data) });
      else {
        const text = data.toString("utf8");
        this.frames.push({ binary: false, text, json: parseObject(text) });
      }
    });
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  /**
   * Opens a socket to the daemon (`ws://…` or `unix:PATH`). With a token, it runs the whole handshake (HELLO,
   * CHALLENGE, AUTH with the proof, WELCOME whose proof is checked) and resolves once the socket is ready for
   * requests; {@link hello} then returns that WELCOME. Without a token, nothing has been sent yet: the test speaks
   * the handshake itself (or skips it).
   */
  static async open(url: string, token: string | undefined, hello: RawHello = {}): Promise<RawSocket> {
    const sock = await new Promise<RawSocket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(url), { perMessageDeflate: false });
      const sock = new RawSocket(ws);
      ws.once("open", () => resolve(sock));
      ws.once("unexpected-response", (_req, res) => {
        res.resume();
        ws.terminate();
        reject(new Error(`HTTP ${res.statusCode ?? "?"}`));
      });
      ws.once("error", reject);
    });
    if (token !== undefined) {
      try {
        sock.welcome = await sock.authenticate(token, hello);
      } catch (err) {
        sock.ws.terminate();
        throw err;
      }
    }
    return sock;
  }

  /** The WELCOME of the handshake {@link open} ran; undefined while the socket is not authenticated. */
  welcome: Record<string, unknown> | undefined;

  /**
   * Runs the handshake on this socket: HELLO with a fresh nonce, then AUTH answering the CHALLENGE; resolves with
   * WELCOME once its proof checks out. Throws with the frame received when any step is answered otherwise.
   */
  async authenticate(token: string, hello: RawHello = {}): Promise<Record<string, unknown>> {
    const clientNonce = newNonce();
    const clientId = hello.clientId ?? "raw-test";
    const helloMsg = { type: "HELLO", versions: hello.versions ?? [3], clientId, nonce: clientNonce, ...(hello.live === undefined ? {} : { live: hello.live }), ...(hello.features === undefined ? {} : { features: hello.features }) };
    const { reply: challenge } = await this.exchange(helloMsg);
    if (challenge.type !== "CHALLENGE") throw new Error(`HELLO was answered with ${JSON.stringify(challenge)}`);
    const t: HandshakeTranscript = { version: challenge.version as number, clientNonce, daemonNonce: challenge.nonce as string, clientId };
    const { reply: welcome } = await this.exchange({ type: "AUTH", proof: handshakeProof(token, "client", t) });
    if (welcome.type !== "WELCOME") throw new Error(`AUTH was answered with ${JSON.stringify(welcome)}`);
    if (typeof welcome.proof !== "string" || !proofMatches(token, "daemon", t, welcome.proof)) throw new Error("the daemon's proof in WELCOME is wrong");
    return welcome;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a string as it is, anything else as JSON, as a text frame. */
  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Binary frames received at or after frame index `from`. */
  binariesFrom(from: number): Buffer[] {
    return this.frames.slice(from).flatMap((f) => (f.binary ? [f.data] : []));
  }

  /** Waits for the first text frame at or after index `from` that matches `pred`. */
  async nextText(from: number, pred: (m: Record<string, unknown>) => boolean = () => true, what = "a text frame"): Promise<Record<string, unknown>> {
    return waitFor(() => {
      for (const f of this.frames.slice(from)) {
        if (f.binary) continue;
        if (f.json === undefined) throw new Error(`the daemon sent a text frame that is not a JSON object: ${f.text.slice(0, 200)}`);
        if (pred(f.json)) return f.json;
      }
      if (this.closed) throw new Error(`the connection closed (${this.closed.code} ${this.closed.reason})`);
      return undefined;
    }, what, 10_000);
  }

  /** Sends `msg` and waits for the next text frame (the answer, since tests send one request at a time). */
  async exchange(msg: unknown): Promise<{ reply: Record<string, unknown>; from: number }> {
    const from = this.frames.length;
    this.send(msg);
    return { reply: await this.nextText(from, () => true, `an answer to ${typeof msg === "string" ? msg : JSON.stringify(msg)}`), from };
  }

  /**
   * The WELCOME of this socket's handshake (run by {@link open} when it was given a token). Kept so that tests
   * written as `open(url, token)` then `hello()` read as before.
   */
  hello(): Promise<Record<string, unknown>> {
    if (this.welcome === undefined) return Promise.reject(new Error("hello() needs a socket opened with a token (or call authenticate(token))"));
    return Promise.resolve(this.welcome);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const done = new Promise<void>((r) => this.ws.once("close", () => r()));
    this.ws.close(1000);
    await done;
  }
}

/** Tries to open a socket and returns the HTTP status the daemon refused it with. */
export function refusedStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), { headers, perMessageDeflate: false });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      ws.terminate();
      resolve(res.statusCode ?? -1);
    });
    ws.once("open", () => {
      ws.terminate();
      reject(new Error("the daemon accepted the connection"));
    });
    ws.once("error", reject);
  });
}

/** A path's state as the daemon lists it, compressed to a comparable string. */
function describeState(state: Record<string, unknown>): string {
  switch (state.kind) {
    case "file":
      return `file ${String(state.size)} ${Number(state.mode) & 0o100 ? "x" : "-"}`;
    case "dir":
      return "dir";
    case "symlink":
      return `link ${String(state.target)}`;
    default:
      return String(state.kind);
  }
}

/** Every path of `root` the daemon currently lists as existing, as path → description (see {@link describeTree}). */
export async function daemonManifest(url: string, token: string, root: string): Promise<Record<string, string>> {
  const sock = await RawSocket.open(url, token);
  try {
    await sock.hello();
    const out: Record<string, string> = {};
    let since = 0;
    for (let id = 1; ; id++) {
      const { reply } = await sock.exchange({ type: "GET_CHANGES", id, since, root });
      if (reply.type !== "CHANGES") throw new Error(`GET_CHANGES was answered with ${JSON.stringify(reply)}`);
      for (const c of reply.changes as { path: string; state: Record<string, unknown> }[]) {
        if (c.state.kind === "deleted") delete out[c.path];
        else out[c.path] = describeState(c.state);
      }
      since = reply.next as number;
      if (reply.more !== true) return out;
    }
  } finally {
    await sock.close();
  }
}

/**
 * Describes a local tree the way {@link daemonManifest} describes the daemon's view: files by size and exec bit
 * (not by hash), so tests that wait on it change a file's size whenever they change its content.
 */
export function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === "" ? root : `${root}/${rel}`)) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(`${root}/${r}`);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(`${root}/${r}`)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        walk(r);
      } else out[r] = `file ${st.size} ${st.mode & 0o100 ? "x" : "-"}`;
    }
  };
  walk("");
  return out;
}

/** Polls until the daemon lists root `name` exactly as the folder `dir` now holds it. */
export async function waitForDaemonToRecord(url: string, tokenFile: string, name: string, dir: string): Promise<void> {
  const token = readToken(tokenFile);
  const want = JSON.stringify(Object.entries(describeTree(dir)).sort());
  let got = "";
  try {
    await waitFor(async () => {
      got = JSON.stringify(Object.entries(await daemonManifest(url, token, name)).sort());
      return got === want;
    }, `the daemon to record ${dir}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  daemon lists: ${got}\n  folder holds: ${want}`);
  }
}

import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { MAX_FRAME_BYTES } from "@zync/protocol";
import { PER_MESSAGE_DEFLATE } from "@zync/node";
import { ClientSession, type SessionContext } from "./clientSession.js";
import { ContentCache } from "./contentCache.js";

/** Where and how the daemon listens. */
export type ListenOptions = { host: string; port: number; token: string };

/** A running server. */
export type RunningServer = {
  /** The address actually bound (the port is real even when 0 was asked for). */
  host: string;
  port: number;
  /** Number of open client connections. */
  connections(): number;
  close(): Promise<void>;
};

/** Answers an upgrade with a plain HTTP response and closes the connection: no WebSocket is established. */
export function refuse(socket: Duplex, status: string, body: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * Starts the HTTP server that hands each WebSocket to a ClientSession. The upgrade itself carries no credential:
 * the token is proved inside the WebSocket, without being sent (docs/protocol.md section 3), and a ClientSession
 * gives nothing away before that proof.
 */
export async function startServer(opts: ListenOptions, ctx: Omit<SessionContext, "token" | "content"> & { content?: ContentCache }): Promise<RunningServer> {
  const session: SessionContext = { ...ctx, token: opts.token, content: ctx.content ?? new ContentCache() };
  // zync uses no WebSocket subprotocol: none is ever agreed to (an upgrade asking for one is refused below).
  // permessage-deflate is accepted in the upgrade only where feature `compress` may be agreed in the handshake.
  const perMessageDeflate = session.compress === "never" ? false : { ...PER_MESSAGE_DEFLATE, zlibDeflateOptions: { ...PER_MESSAGE_DEFLATE.zlibDeflateOptions } };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate, handleProtocols: () => false });
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain" }).end("zync daemon: connect with zync-client\n");
  });
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => undefined);
    // Checks of the upgrade request itself (headers, subprotocols) go here, each refusing with `refuse(...)`.
    // An Authorization header (a protocol-1 client) is ignored: its HELLO gets VERSION_MISMATCH.
    if (req.headers["sec-websocket-protocol"] !== undefined) {
      refuse(socket, "400 Bad Request", "zync: no WebSocket subprotocol is used; connect without one\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => new ClientSession(ws, session, req.socket.remoteAddress, socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  return {
    host: opts.host,
    port,
    connections: () => wss.clients.size,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

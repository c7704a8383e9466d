import { WebSocket, WebSocketServer } from "ws";

/** A WebSocket relay between clients and a daemon that counts the message types each side sends. */
export type CountingRelay = {
  /** The URL clients connect to instead of the daemon's. */
  url: string;
  /** Text frames clients sent, by message type. */
  fromClients: Map<string, number>;
  /** Text frames the daemon sent, by message type. */
  fromDaemon: Map<string, number>;
  close(): Promise<void>;
};

function count(into: Map<string, number>, text: string): void {
  let type = "?";
  try {
    const v = JSON.parse(text) as { type?: unknown };
    if (typeof v.type === "string") type = v.type;
  } catch {
    // not JSON: counted as "?"
  }
  into.set(type, (into.get(type) ?? 0) + 1);
}

/** Rewrites frames on their way; returns the frame to forward (the same one to leave it as it is). */
export type Tamper = { toDaemon?: (text: string) => string; toClient?: (data: Buffer, binary: boolean) => Buffer };

/**
 * Starts a relay on 127.0.0.1 that forwards every frame, in order, to `target` (a ws:// URL), through `tamper`
 * when given (a test's way of playing a daemon or client that misbehaves in one precise way).
 */
export async function startCountingRelay(target: string, tamper: Tamper = {}): Promise<CountingRelay> {
  const fromClients = new Map<string, number>();
  const fromDaemon = new Map<string, number>();
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const sockets = new Set<WebSocket>();
  wss.on("connection", (client) => {
    const daemon = new WebSocket(target, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    sockets.add(client).add(daemon);
    const early: { data: Buffer; binary: boolean }[] = [];
    client.on("message", (data: Buffer, binary) => {
      if (!binary) count(fromClients, data.toString("utf8"));
      if (!binary && tamper.toDaemon) data = Buffer.from(tamper.toDaemon(data.toString("utf8")));
      if (daemon.readyState === WebSocket.OPEN) daemon.send(data, { binary });
      else early.push({ data, binary });
    });
    daemon.on("open", () => {
      for (const m of early.splice(0)) daemon.send(m.data, { binary: m.binary });
    });
    daemon.on("message", (data: Buffer, binary) => {
      if (!binary) count(fromDaemon, data.toString("utf8"));
      if (tamper.toClient) data = tamper.toClient(data, binary);
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary });
    });
    const end = (): void => {
      client.terminate();
      daemon.terminate();
    };
    client.on("close", end);
    daemon.on("close", end);
    client.on("error", end);
    daemon.on("error", end);
  });
  const addr = wss.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    fromClients,
    fromDaemon,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

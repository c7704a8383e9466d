import { createConnection, createServer, type Socket } from "node:net";

/** A TCP proxy on loopback in front of a port, counting the bytes that cross it in each direction. */
export type CountingProxy = {
  /** `ws://127.0.0.1:<port>` of the proxy. */
  url: string;
  /** Bytes from the client to the target, and from the target to the client, over every connection so far. */
  counts(): { up: number; down: number };
  close(): Promise<void>;
};

/** Starts a counting proxy in front of 127.0.0.1:`targetPort`. */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  const totals = { up: 0, down: 0 };
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const target = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, target]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
    }
    client.on("data", (d: Buffer) => (totals.up += d.byteLength));
    target.on("data", (d: Buffer) => (totals.down += d.byteLength));
    client.pipe(target);
    target.pipe(client);
    client.on("close", () => target.destroy());
    target.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    counts: () => ({ ...totals }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

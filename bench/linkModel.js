// The WAN bench's link, run in a process of its own so that the bench's own work (writing files, polling for
// results) never stalls the link's timers. `startLink()` forks this file; the child runs the proxy of
// tests/helpers/linkModel.ts and answers requests for its counters over the IPC channel.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startLinkProxy } from "../tests/dist/helpers/linkModel.js";

const self = fileURLToPath(import.meta.url);

/**
 * Starts a link model in front of 127.0.0.1:`targetPort` (`rateBitsPerSec`, `rttMs`, optional `queueBytes`).
 * Resolves with its port, its per-direction parameters, `counters()` (bytes per direction, per connection and in
 * total) and `stop()`.
 */
export function startLink(spec) {
  const child = fork(self, [JSON.stringify(spec)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = [];
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    child.once("exit", (code) => reject(new Error(`the link model exited (${code}) before it listened`)));
  });
  child.on("message", (msg) => {
    if (msg.type === "ready") onReady(msg);
    else if (msg.type === "counters") waiting.shift()?.(msg.counters);
  });
  return ready.then(({ port, direction }) => ({
    port,
    direction,
    counters: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.send({ type: "counters" });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.disconnect();
      await gone;
    },
  }));
}

if (process.argv[1] === self && process.send) {
  const spec = JSON.parse(process.argv[2]);
  const link = await startLinkProxy(spec);
  process.on("message", (msg) => {
    if (msg.type === "counters") process.send({ type: "counters", counters: link.counters() });
  });
  process.on("disconnect", () => {
    void link.stop().then(() => process.exit(0));
  });
  process.send({ type: "ready", port: link.port, direction: link.direction });
}

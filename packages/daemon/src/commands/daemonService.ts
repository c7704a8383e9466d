import type { ServiceSpec } from "@zync/node";

/** zync-daemon as a systemd user service, with its paths made absolute. */
export const DAEMON_SERVICE: ServiceSpec = {
  command: "zync-daemon",
  pathFlags: ["db", "token-file", "config", "ssh-identity"],
  defaultDb: "sync.db",
  refused: [],
  describe: (dirs) => `zync daemon (serves ${dirs} to R)`,
};

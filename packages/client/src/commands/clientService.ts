import type { ServiceSpec } from "@zync/node";

/** zync-client as a systemd user service: the live client, with its paths made absolute. */
export const CLIENT_SERVICE: ServiceSpec = {
  command: "zync-client",
  pathFlags: ["db", "token-file", "config"],
  defaultDb: "sync_client.db",
  refused: ["once", "update-upstream", "dry-run"],
  describe: (dirs) => `zync client (keeps ${dirs} in step with E)`,
};

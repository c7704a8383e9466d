export { DaemonConnection, ConnectionError, RemoteError, type ConnectOptions } from "./daemonConnection.js";
export { ClientStore, type BaseEntry, type Conflict } from "./store/clientStore.js";
export { decide, type Decision } from "@zync/protocol";
export { syncAll, prepareRoots, connect, type SyncOptions } from "./syncSession.js";
export { runLoop, type LoopTiming } from "./syncLoop.js";
export type { RunReport } from "./pull/applyChanges.js";
export { clientStatus, type ClientStatus } from "./commands/statusCommand.js";
export { MassDeleteError, type PullPolicy } from "./pull/pullRoot.js";

export { startDaemon, type DaemonOptions, type RunningDaemon } from "./daemon.js";
export { ChangeLog, type StoredEntry, type LogWrite, type ChangePage } from "./store/changeLog.js";
export { RootIndexer, type RootSpec, type IndexStats } from "./rootIndexer.js";
export { chokidarHints, type ChangeHints, type WatchTiming } from "./rootWatcher.js";

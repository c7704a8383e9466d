export { startDaemon, type DaemonOptions, type RunningDaemon } from "./daemon.js";
export { ChangeLog, type StoredEntry, type LogWrite, type ChangePage } from "./store/changeLog.js";
export { openDatabase, stagingDirFor } from "./store/database.js";
export { RootIndexer, type RootSpec, type IndexStats } from "./rootIndexer.js";
export { chokidarHints, type ChangeHints, type WatchTiming } from "./rootWatcher.js";
export { StagingStore, type SessionSummary, type StagedChange, type Outcome } from "./upstream/stagingStore.js";
export { reviewSession, reviewChange, type ReviewedChange } from "./upstream/reviewSession.js";

export * from "./version.js";
export * from "./errors.js";
export * from "./paths.js";
export * from "./entry.js";
export * from "./messages/fromClient.js";
export * from "./messages/fromServer.js";
export * from "./codec.js";

import { z } from "zod";
import { BLOCK_LIMIT_BYTES } from "../delta/deltaSignatures.js";
import { HashSchema, RootNameSchema, WirePathSchema } from "../entry.js";
import { AuthSchema, HelloSchema, type Auth, type Hello } from "./handshake.js";
import { CheckIgnoreSchema } from "./explain.js";
import { FinalizeUpstreamSchema, PrepareUpstreamSchema, UpstreamFileEndSchema, UpstreamFileSchema } from "./upstream.js";
import { GetVersionSchema } from "./versions.js";

const id = z.number().int().nonnegative().max(0xffffffff);
const seq = z.number().int().nonnegative();

/** Liveness check; answered with PONG. */
export const PingSchema = z.strictObject({ type: z.literal("PING"), id });

/** Asks for the daemon's newest sequence number; answered with LAST_SEQUENCE. */
export const GetLastSequenceSchema = z.strictObject({ type: z.literal("GET_LAST_SEQUENCE"), id });

/** Asks for every path whose latest change is after `since`; answered with one CHANGES page. */
export const GetChangesSchema = z.strictObject({
  type: z.literal("GET_CHANGES"),
  id,
  /** Return changes with a sequence number greater than this. 0 asks for the whole manifest. */
  since: seq,
  /** Only changes of this root; all served roots when absent. */
  root: RootNameSchema.optional(),
  /** Largest number of changes wanted in this page. */
  limit: z.number().int().positive().optional(),
});

/** Asks for a file's content; answered with binary data frames tagged with `id`, then FILE_END, or ERROR. */
export const GetFileSchema = z.strictObject({
  type: z.literal("GET_FILE"),
  id,
  root: RootNameSchema,
  path: WirePathSchema,
  /** The content the client expects; informational, the daemon sends what it has. */
  hash: HashSchema.optional(),
});

/**
 * Feature "delta": asks for a file as changes against R's base, whose block signatures (a binary frame of kind
 * DeltaSignatures with the same id) came just before. Answered with op frames (kind DeltaOps), then FILE_END, or ERROR.
 */
export const GetDeltaSchema = z.strictObject({
  type: z.literal("GET_DELTA"),
  id,
  root: RootNameSchema,
  path: WirePathSchema,
  /** The content the client expects; informational, the daemon sends what it has. */
  hash: HashSchema.optional(),
  /** Bytes per block of R's base (the last block holds the rest). */
  blockSize: z.number().int().min(1).max(BLOCK_LIMIT_BYTES),
  /** Size of R's base. */
  baseSize: z.number().int().nonnegative(),
});

/** Tells the daemon that everything up to `seq` is durably applied; answered with ACKED. */
export const AckChangesSchema = z.strictObject({ type: z.literal("ACK_CHANGES"), id, seq });

/**
 * Asks the daemon to pass a barrier in the named roots (all it serves when absent): answered with BARRIER_PASSED
 * once every change made on E before the request has been recorded (docs/protocol.md section 5.12).
 */
export const BarrierSchema = z.strictObject({ type: z.literal("BARRIER"), id, roots: z.array(RootNameSchema).max(1000).optional() });

/** Every message a client may send. */
export const FromClientMessageSchema = z.discriminatedUnion("type", [
  HelloSchema,
  AuthSchema,
  PingSchema,
  GetLastSequenceSchema,
  GetChangesSchema,
  GetFileSchema,
  GetDeltaSchema,
  AckChangesSchema,
  BarrierSchema,
  PrepareUpstreamSchema,
  UpstreamFileSchema,
  UpstreamFileEndSchema,
  FinalizeUpstreamSchema,
  CheckIgnoreSchema,
  GetVersionSchema,
]);

export type GetChanges = z.infer<typeof GetChangesSchema>;
export type GetFile = z.infer<typeof GetFileSchema>;
export type GetDelta = z.infer<typeof GetDeltaSchema>;
export type FromClientMessage = z.infer<typeof FromClientMessageSchema>;
/** A client message that carries a request id and expects an answer (everything but the handshake). */
export type ClientRequest = Exclude<FromClientMessage, Hello | Auth>;

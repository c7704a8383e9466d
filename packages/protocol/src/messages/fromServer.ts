import { z } from "zod";
import { ChangeSchema, HashSchema } from "../entry.js";
import { ErrorCode, MAX_ERROR_MESSAGE } from "../errors.js";
import { ChallengeSchema, HaltedRootsSchema, WelcomeSchema } from "./handshake.js";
import { UpstreamDoneSchema, UpstreamReadySchema, UpstreamStoredSchema } from "./upstream.js";
import { PushSchema } from "./push.js";
import { IgnoreCheckedSchema } from "./explain.js";
import { GitBatchesSchema, GitStateSchema } from "./git.js";

const id = z.number().int().nonnegative().max(0xffffffff);
const seq = z.number().int().nonnegative();

/** Answer to PING. */
export const PongSchema = z.strictObject({ type: z.literal("PONG"), id });

/** Answer to GET_LAST_SEQUENCE. */
export const LastSequenceSchema = z.strictObject({ type: z.literal("LAST_SEQUENCE"), id, seq });

/** One page of changes, each path's latest state once, ordered by sequence. */
export const ChangesSchema = z.strictObject({
  type: z.literal("CHANGES"),
  id,
  changes: z.array(ChangeSchema),
  /** Cursor to send as `since` for the next page: where this page stopped reading when `more`, else the head. */
  next: seq,
  /** The daemon's newest sequence when the page was read. */
  head: seq,
  /** True when more changes follow `next`. */
  more: z.boolean(),
  /** Feature "git": the batches the page's changes belong to (section 14.11); absent when none. */
  batches: GitBatchesSchema.optional(),
});

/** Closes a file transfer: every data frame for `id` has been sent. */
export const FileEndSchema = z.strictObject({
  type: z.literal("FILE_END"),
  id,
  /** Bytes sent. */
  size: z.number().int().nonnegative(),
  /** Hash of exactly the bytes sent. */
  hash: HashSchema,
  /** Permission bits of the file as read. */
  mode: z.number().int().min(0).max(0o7777),
  /** Modification time of the file as read. */
  mtimeMs: z.number().int(),
});

/** Answer to ACK_CHANGES. */
export const AckedSchema = z.strictObject({ type: z.literal("ACKED"), id, seq });

/** Unsolicited notice to live clients: new changes were recorded up to `head`. */
export const ChangedSchema = z.strictObject({ type: z.literal("CHANGED"), head: seq });

/** Answer to BARRIER: a client that has applied every change up to `seq` is in step with E as of the request. */
export const BarrierPassedSchema = z.strictObject({ type: z.literal("BARRIER_PASSED"), id, seq, halted: HaltedRootsSchema });

/** Unsolicited, after WELCOME: the set of halted roots changed; `halted` is the whole new set. */
export const HaltedSchema = z.strictObject({ type: z.literal("HALTED"), halted: HaltedRootsSchema });

/** A failed request (with its `id`) or a connection-level error (without). */
export const ErrorSchema = z.strictObject({
  type: z.literal("ERROR"),
  id: id.optional(),
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string().max(MAX_ERROR_MESSAGE),
});

/** Every message a daemon may send. */
export const FromServerMessageSchema = z.discriminatedUnion("type", [
  ChallengeSchema,
  WelcomeSchema,
  PongSchema,
  LastSequenceSchema,
  ChangesSchema,
  FileEndSchema,
  AckedSchema,
  BarrierPassedSchema,
  ChangedSchema,
  HaltedSchema,
  ErrorSchema,
  UpstreamReadySchema,
  UpstreamStoredSchema,
  UpstreamDoneSchema,
  PushSchema,
  IgnoreCheckedSchema,
  GitStateSchema,
]);

export type Changes = z.infer<typeof ChangesSchema>;
export type FileEnd = z.infer<typeof FileEndSchema>;
export type ErrorMessage = z.infer<typeof ErrorSchema>;
export type FromServerMessage = z.infer<typeof FromServerMessageSchema>;

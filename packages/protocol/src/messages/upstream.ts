import { z } from "zod";
import { EntryStateSchema, HashSchema, RootNameSchema, WirePathSchema } from "../entry.js";

/**
 * Upstream (R → E): R offers what it changed as a session that E stages for review. Client → daemon:
 * PREPARE_UPSTREAM, UPSTREAM_FILE (+ binary data frames + UPSTREAM_FILE_END), FINALIZE_UPSTREAM.
 * Daemon → client: UPSTREAM_READY, UPSTREAM_STORED, UPSTREAM_DONE.
 */

const id = z.number().int().nonnegative().max(0xffffffff);

/** Most changes one session may carry. */
export const MAX_UPSTREAM_CHANGES = 20_000;

/** A staged session's number on E. */
export const SessionIdSchema = z.number().int().positive();

/** The states of an upstream session on E. */
export const SessionStatus = {
  /** Content is still arriving; the client may resume it. */
  Receiving: "receiving",
  /** Complete and waiting for review. */
  Pending: "pending",
  /** Some changes applied or skipped, others still pending. */
  Partial: "partial",
  /** Every change applied or skipped. */
  Applied: "applied",
  /** Discarded on E without touching E's files. */
  Rejected: "rejected",
  /** Given up: interrupted and replaced by a newer session from the same client and root. */
  Aborted: "aborted",
} as const;
export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus];
export const SessionStatusSchema = z.enum(Object.values(SessionStatus) as [SessionStatus, ...SessionStatus[]]);

/** One change R made to a path since it last received the path from E. */
export const UpstreamChangeSchema = z.strictObject({
  path: WirePathSchema,
  /** What R last received from E for this path; null when R never received it. Conflicts are judged against it. */
  base: EntryStateSchema.nullable(),
  /** What R holds now. */
  state: EntryStateSchema,
});

/** Offers a session: every change of one root. Answered with UPSTREAM_READY. */
export const PrepareUpstreamSchema = z.strictObject({
  type: z.literal("PREPARE_UPSTREAM"),
  id,
  root: RootNameSchema,
  /** Identity of this exact offer (client id, root and changes); offering it again resumes or finds the same session. */
  key: z.string().regex(/^[0-9a-f]{16,64}$/),
  changes: z.array(UpstreamChangeSchema).min(1).max(MAX_UPSTREAM_CHANGES),
});

/** Starts sending one file of a session; binary data frames tagged with `id` follow, then UPSTREAM_FILE_END. */
export const UpstreamFileSchema = z.strictObject({
  type: z.literal("UPSTREAM_FILE"),
  id,
  session: SessionIdSchema,
  path: WirePathSchema,
});

/** Ends a file started with UPSTREAM_FILE (same `id`); answered with UPSTREAM_STORED once checked and stored. */
export const UpstreamFileEndSchema = z.strictObject({
  type: z.literal("UPSTREAM_FILE_END"),
  id,
  /** Bytes sent. */
  size: z.number().int().nonnegative(),
  /** Hash of exactly the bytes sent; must equal the hash offered for the path. */
  hash: HashSchema,
});

/** Closes a session once every file was stored; answered with UPSTREAM_DONE. */
export const FinalizeUpstreamSchema = z.strictObject({ type: z.literal("FINALIZE_UPSTREAM"), id, session: SessionIdSchema });

/** Answer to PREPARE_UPSTREAM. */
export const UpstreamReadySchema = z.strictObject({
  type: z.literal("UPSTREAM_READY"),
  id,
  session: SessionIdSchema,
  status: SessionStatusSchema,
  /** Paths whose content E still needs; empty when the session was already complete. */
  need: z.array(WirePathSchema),
});

/** Answer to UPSTREAM_FILE_END: the file is durably staged. */
export const UpstreamStoredSchema = z.strictObject({ type: z.literal("UPSTREAM_STORED"), id, path: WirePathSchema });

/** Answer to FINALIZE_UPSTREAM. */
export const UpstreamDoneSchema = z.strictObject({
  type: z.literal("UPSTREAM_DONE"),
  id,
  session: SessionIdSchema,
  status: SessionStatusSchema,
  /** Changes in the session. */
  changes: z.number().int().nonnegative(),
  /** Changes that conflict with E's current content right now. */
  conflicts: z.number().int().nonnegative(),
});

export type UpstreamChange = z.infer<typeof UpstreamChangeSchema>;
export type PrepareUpstream = z.infer<typeof PrepareUpstreamSchema>;
export type UpstreamReady = z.infer<typeof UpstreamReadySchema>;
export type UpstreamDone = z.infer<typeof UpstreamDoneSchema>;

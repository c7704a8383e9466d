import { z } from "zod";
import { ChangeSchema, RootNameSchema, WirePathSchema } from "../entry.js";
import { GitBatchesSchema } from "./git.js";

/**
 * Feature "push" (docs/protocol.md section 14.6): the daemon sends a live client the changes it has not read yet,
 * with the content of small files, instead of a CHANGED notice the client would answer with GET_CHANGES and GET_FILE.
 */

/** Streams the daemon starts on its own have ids with the top bit set; clients allocate ids below this. */
export const FIRST_PUSH_STREAM_ID = 0x80000000;

/** Largest file whose content a push carries; larger files are fetched with GET_FILE. */
export const MAX_PUSHED_FILE_BYTES = 256 * 1024;

/** Largest total of file content one push carries; files past it are fetched with GET_FILE. */
export const MAX_PUSH_CONTENT_BYTES = 1024 * 1024;

/** Largest number of changes one push carries; more at once are announced with CHANGED and pulled. */
export const MAX_PUSHED_CHANGES = 256;

/** One pushed file's content: the stream that carries it (binary frames, then FILE_END or ERROR with that id). */
export const PushedStreamSchema = z.strictObject({
  /** The stream id, at least FIRST_PUSH_STREAM_ID. */
  id: z.number().int().min(FIRST_PUSH_STREAM_ID).max(0xffffffff),
  /** The path of a file change in this push whose content the stream carries. */
  path: WirePathSchema,
});

/**
 * Unsolicited, to a live client that agreed "push": the changes of one root after `since`, which is the cursor the
 * daemon believes the client holds for that root (the `next` of the last page it sent the client for the root).
 * Equivalent to the CHANGES page the client would get for GET_CHANGES {since, root}, with `more` false.
 */
export const PushSchema = z.strictObject({
  type: z.literal("PUSH"),
  root: RootNameSchema,
  /** The cursor this page continues from. */
  since: z.number().int().nonnegative(),
  changes: z.array(ChangeSchema).max(MAX_PUSHED_CHANGES),
  /** The cursor after this page (the daemon's head when it was read). */
  next: z.number().int().nonnegative(),
  /** Content that follows this message, one stream per file. */
  streams: z.array(PushedStreamSchema).max(MAX_PUSHED_CHANGES),
  /** Feature "git": the batches the page's changes belong to (section 14.11); absent when none. */
  batches: GitBatchesSchema.optional(),
});

export type Push = z.infer<typeof PushSchema>;
export type PushedStream = z.infer<typeof PushedStreamSchema>;

import { z } from "zod";
import { RootNameSchema } from "../entry.js";

/**
 * Feature "git" (docs/protocol.md section 14.11): the daemon tells a client the git state of each root that is a
 * git work tree on E (branch, commit, whether recording waits for git), and marks the changes git made in one
 * operation (a checkout, rebase, merge) as a batch, so a client places them together.
 */

/** Longest branch name the wire carries; a longer one is sent as detached. */
export const MAX_GIT_BRANCH = 1024;

/** Longest sentence saying why recording waits for git. */
export const MAX_GIT_WAIT_REASON = 200;

/** Largest number of batches one page (CHANGES or PUSH) names: at most one per change. */
export const MAX_BATCHES_PER_PAGE = 5000;

const seq = z.number().int().nonnegative();

/**
 * Changes the daemon recorded as one unit: every change of `root` whose sequence number is between `first` and
 * `last` (both included) belongs to it. A client places them together, once it has read every change up to
 * `last`. Direction: daemon to client, inside CHANGES and PUSH.
 */
export const GitBatchSchema = z
  .strictObject({
    root: RootNameSchema,
    /** Sequence number of the batch's first change. */
    first: seq,
    /** Sequence number of its last change; at least `first`. */
    last: seq,
  })
  .refine((b) => b.first <= b.last, "a batch ends before it starts");

/** The batches a page's changes belong to. */
export const GitBatchesSchema = z.array(GitBatchSchema).max(MAX_BATCHES_PER_PAGE);

/** Recording of a root waits for git: since when (ms since the epoch) and why, for a person. */
export const GitWaitSchema = z.strictObject({
  since: z.number().int().nonnegative(),
  reason: z.string().max(MAX_GIT_WAIT_REASON),
});

/** One root's git state on E. */
export const GitRootStateSchema = z.strictObject({
  root: RootNameSchema,
  /** The checked-out branch (without `refs/heads/`), or null when HEAD is detached. */
  branch: z.string().min(1).max(MAX_GIT_BRANCH).nullable(),
  /** The commit HEAD names (40 or 64 lowercase hex digits), or null before the first commit. */
  commit: z
    .string()
    .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/)
    .nullable(),
  /** Set while the daemon holds back recording this root because git is busy in it. */
  waiting: GitWaitSchema.nullable(),
});

/**
 * Unsolicited, daemon to client, on a connection that agreed "git": after WELCOME, and whenever any root's git
 * state changes. `roots` is the whole new set: every served root that is a git work tree, once each.
 */
export const GitStateSchema = z.strictObject({
  type: z.literal("GIT_STATE"),
  roots: z.array(GitRootStateSchema).max(1000),
});

export type GitBatch = z.infer<typeof GitBatchSchema>;
export type GitWait = z.infer<typeof GitWaitSchema>;
export type GitRootState = z.infer<typeof GitRootStateSchema>;
export type GitState = z.infer<typeof GitStateSchema>;

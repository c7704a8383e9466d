import { z } from "zod";
import { RootNameSchema } from "../entry.js";
import { FEATURE_NAME, MAX_FEATURES } from "../features.js";

const seq = z.number().int().nonnegative();
/** A random challenge: 32 to 64 lowercase hex digits (16 to 32 bytes). */
const nonce = z.string().regex(/^[0-9a-f]{32,64}$/);
/** An HMAC-SHA256 proof: 64 lowercase hex digits. */
const proof = z.string().regex(/^[0-9a-f]{64}$/);
/** A list of feature names (docs/protocol.md section 3.7). */
const features = z.array(z.string().regex(FEATURE_NAME)).max(MAX_FEATURES);

/** Longest reason a daemon gives for a halted root. */
export const MAX_HALT_REASON = 500;

/** A root whose recording E has halted (its mass-deletion guard), with why and since when (ms since the epoch). */
export const HaltedRootSchema = z.strictObject({
  root: RootNameSchema,
  reason: z.string().max(MAX_HALT_REASON),
  since: z.number().int().nonnegative(),
});

/** Every halted root of a daemon: at most one entry per served root. */
export const HaltedRootsSchema = z.array(HaltedRootSchema).max(1000);

/**
 * Client → daemon, first message on every connection: the versions the client speaks and its challenge.
 * Direction: client to daemon.
 */
export const HelloSchema = z.strictObject({
  type: z.literal("HELLO"),
  /** Protocol versions the client supports. */
  versions: z.array(z.number().int().positive()).min(1).max(16),
  /** Stable id of this client, kept in its database; acknowledgements are recorded per client. Not a credential. */
  clientId: z.string().min(1).max(128),
  /** Ask the daemon to push CHANGED notices as soon as changes are recorded. */
  live: z.boolean().optional(),
  /** The client's challenge. Optional in the schema so that a version-1 HELLO still decodes; version 2 requires it. */
  nonce: nonce.optional(),
  /** Optional behaviours the client can use (section 3.7); none when absent. */
  features: features.optional(),
});

/**
 * Daemon → client, answer to HELLO: the chosen version and the daemon's challenge. It carries nothing else: no root
 * names, no epoch, until the client has proved that it knows the token.
 */
export const ChallengeSchema = z.strictObject({
  type: z.literal("CHALLENGE"),
  /** The protocol version both sides will speak. */
  version: z.number().int().positive(),
  /** The daemon's challenge, fresh for this connection. */
  nonce,
});

/** Client → daemon, answer to CHALLENGE: HMAC-SHA256 of the client label and the transcript, keyed with the token. */
export const AuthSchema = z.strictObject({
  type: z.literal("AUTH"),
  /** The client's proof, 64 lowercase hex digits (docs/protocol.md section 3.2). */
  proof,
});

/** Daemon → client, answer to a correct AUTH: the daemon's own proof and what the client needs to start syncing. */
export const WelcomeSchema = z.strictObject({
  type: z.literal("WELCOME"),
  /** The protocol version both sides will speak (the one CHALLENGE named). */
  version: z.number().int().positive(),
  /** Identity of the daemon's database. A client whose stored epoch differs must do a full resync. */
  epoch: z.string().min(1).max(128),
  /** The newest sequence number. */
  head: seq,
  /** Deletions at or below this sequence have been forgotten; a client whose cursor is below it must do a full resync. */
  horizon: seq,
  /** Names of the roots this daemon serves. */
  roots: z.array(RootNameSchema),
  /** The features this connection uses: a subset of those HELLO offered (section 3.7). */
  features,
  /** The served roots whose recording is halted on E, and why (section 6.13); empty when none. */
  halted: HaltedRootsSchema,
  /** The daemon's proof: HMAC-SHA256 of the daemon label and the transcript, keyed with the token. */
  proof,
});

export type Hello = z.infer<typeof HelloSchema>;
export type Challenge = z.infer<typeof ChallengeSchema>;
export type Auth = z.infer<typeof AuthSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type HaltedRoot = z.infer<typeof HaltedRootSchema>;

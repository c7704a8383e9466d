import { z } from "zod";
import { HashSchema, RootNameSchema, WirePathSchema } from "../entry.js";

/**
 * Feature "versions" (client → daemon): asks for a past version of one path, by hash, from E's version store (the
 * base of a 3-way merge on R). Answered like GET_FILE: binary data frames (kind 1) tagged with `id`, then FILE_END
 * whose hash is `hash`, or ERROR NOT_FOUND when E does not hold that version of that path (docs/protocol.md
 * section 14.10). Only a version of a path the daemon serves now, and only one that path has had on E.
 */
export const GetVersionSchema = z.strictObject({
  type: z.literal("GET_VERSION"),
  id: z.number().int().nonnegative().max(0xffffffff),
  /** The root the path is in. */
  root: RootNameSchema,
  /** The path whose past version is wanted. */
  path: WirePathSchema,
  /** The version wanted: the hash of its content. */
  hash: HashSchema,
});

export type GetVersion = z.infer<typeof GetVersionSchema>;

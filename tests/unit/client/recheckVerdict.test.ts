import { describe, expect, test } from "@jest/globals";
import { recheckVerdict } from "@zync/client";
import type { EntryState } from "@zync/protocol";
import { DELETED, dirState, fileState, H1, H2, linkState } from "../../helpers/states.js";

describe("what --full's re-read of a received path says", () => {
  test.each<[string, EntryState, EntryState, "intact" | "changed" | "absent"]>([
    ["the same content", fileState(H1), fileState(H1), "intact"],
    ["the same content with another mtime (only E's mtime is set back by a pull)", fileState(H1), fileState(H1, { mtimeMs: 1 }), "intact"],
    ["the same content, read-write bits changed", fileState(H1), fileState(H1, { mode: 0o600 }), "intact"],
    ["other content of the same size", fileState(H1), fileState(H2), "changed"],
    ["the same hash with another size (damage)", fileState(H1, { size: 10 }), fileState(H1, { size: 11 }), "changed"],
    ["the exec bit flipped", fileState(H1), fileState(H1, { mode: 0o755 }), "changed"],
    ["a folder where the file was", fileState(H1), dirState(), "changed"],
    ["a link retargeted", linkState("a"), linkState("b"), "changed"],
    ["the same link", linkState("a"), linkState("a"), "intact"],
    ["nothing (a deletion the stat shows anyway)", fileState(H1), DELETED, "absent"],
  ])("%s", (_, base, local, verdict) => {
    expect(recheckVerdict(base, local)).toBe(verdict);
  });
});

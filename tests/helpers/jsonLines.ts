/** One `--json` event line: when, what, and the event's own fields. */
export type JsonEvent = { time: string; event: string } & Record<string, unknown>;

/** Every line of a process's stdout parsed as JSON (a line that is not JSON fails the test). */
export function eventsOf(stdout: string): JsonEvent[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JsonEvent);
}

/** Exponential backoff with jitter: first, 2×first, 4×first ... up to max, each spread by ±jitter. */
export type BackoffPolicy = {
  firstMs: number;
  maxMs: number;
  /** Share of each delay that is random (0.2 = ±20 %), so many daemons do not retry in step. */
  jitter: number;
};

/** Counts failures in a row and turns them into delays. */
export class Backoff {
  private failures = 0;
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.policy = policy;
    this.random = random;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const { firstMs, maxMs, jitter } = this.policy;
    const base = Math.min(maxMs, firstMs * 2 ** Math.min(this.failures, 52));
    this.failures++;
    return Math.max(0, Math.round(base * (1 + jitter * (2 * this.random() - 1))));
  }

  /** Starts over from the first delay. */
  reset(): void {
    this.failures = 0;
  }
}

/** A delay for a log line: "4 s", or "0.3 s" under a second. */
export function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

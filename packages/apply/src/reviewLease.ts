import { REVIEW_LEASE_MS, SessionStateError, type StagingStore } from "@zync/daemon";
import { ExitCode, ExitError } from "@zync/node";

/** True when process `pid` runs on this machine (one we may not signal runs too). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Holds a session's review lease for this process while `body` runs: no new offer aborts the session and no other
 * zync-apply decides it meanwhile. The lease is renewed in the background and given back at the end; a lease left
 * by a zync-apply that was killed is taken over (its pid no longer runs, or it was not renewed in time). `take`
 * takes it (undo takes it whatever the session's status).
 */
export async function withReviewLease<T>(
  staging: StagingStore,
  id: number,
  body: () => Promise<T>,
  pid = process.pid,
  take: (pid: number) => void = (p) => staging.takeReview(id, p, pidAlive),
): Promise<T> {
  try {
    take(pid);
  } catch (err) {
    if (err instanceof SessionStateError) throw new ExitError(ExitCode.Failure, err.message);
    throw err;
  }
  const timer = setInterval(() => {
    try {
      staging.renewReview(id, pid);
    } catch {
      // the database is busy for a moment; the lease still has most of its time, and the next renewal tries again
    }
  }, REVIEW_LEASE_MS / 4);
  timer.unref();
  try {
    return await body();
  } finally {
    clearInterval(timer);
    staging.releaseReview(id, pid);
  }
}

import { execFileSync, spawn } from "node:child_process";

/** Most bytes of output read from one git command before it is stopped and counted as failed. */
export const MAX_GIT_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Runs git and returns its output, or undefined when it fails, is missing or says more than `maxBytes`. */
export type GitRunner = (cwd: string, args: readonly string[], maxBytes?: number) => Promise<string | undefined>;

/** Runs git to completion, blocking: for start-up and one-shot commands, where nothing else waits on the event loop. */
export function gitOutputSync(cwd: string, args: readonly string[], maxBytes = MAX_GIT_OUTPUT_BYTES): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: maxBytes });
  } catch {
    return undefined;
  }
}

/**
 * Runs git without blocking the event loop. Its output is collected up to `maxBytes`; past that the process is
 * killed and the answer is undefined, as for any failure, so a huge repository costs bounded memory.
 */
export const gitOutput: GitRunner = (cwd, args, maxBytes = MAX_GIT_OUTPUT_BYTES) =>
  new Promise((resolve) => {
    let child;
    try {
      child = spawn("git", args, { cwd, stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooMuch = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (tooMuch) return;
      bytes += chunk.length;
      if (bytes > maxBytes) {
        tooMuch = true;
        chunks.length = 0;
        child.kill("SIGKILL");
        return;
      }
      chunks.push(chunk);
    });
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => resolve(code === 0 && !tooMuch ? Buffer.concat(chunks).toString("utf8") : undefined));
  });

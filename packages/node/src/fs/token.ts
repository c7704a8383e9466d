import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

/** Environment variable that carries the shared token on either side. */
export const TOKEN_ENV = "ZYNC_TOKEN";

/** Thrown when a token file cannot be used; the message is a sentence for the user. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** Reads a token file: the first line, trimmed. Refuses an empty file. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TokenError(`cannot read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const token = text.split("\n")[0]?.trim() ?? "";
  if (token.length === 0) throw new TokenError(`token file ${path} is empty`);
  return token;
}

/** Writes a new random token to `path`, readable only by its owner, and returns it. */
export function createTokenFile(path: string): string {
  const token = randomBytes(32).toString("hex");
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  return token;
}

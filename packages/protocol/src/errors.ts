/** Every error code that can travel on the wire. */
export const ErrorCode = {
  /** The message was not valid JSON or did not match any schema. */
  BadMessage: "BAD_MESSAGE",
  /** No protocol version is supported by both sides. */
  VersionMismatch: "VERSION_MISMATCH",
  /** A request arrived before the handshake was complete (HELLO, CHALLENGE, AUTH, WELCOME). */
  NotReady: "NOT_READY",
  /** A path cannot be used: a folder on the way to it is a symlink or a file. (Malformed paths fail decoding.) */
  BadPath: "BAD_PATH",
  /** The named root is not served by this daemon. */
  UnknownRoot: "UNKNOWN_ROOT",
  /** The requested file does not exist (any more) or is not a regular file. */
  NotFound: "NOT_FOUND",
  /** The upstream session does not exist or cannot take this request in its current state. */
  BadSession: "BAD_SESSION",
  /** Uploaded content does not match what was offered (changed on R while sending, or damaged). */
  ContentMismatch: "CONTENT_MISMATCH",
  /**
   * GET_FILE (version 2): the file exists on E but the daemon may not read it (no read permission). Skip the path
   * for this pass and report it; it is not a failure of the pass.
   */
  Unreadable: "UNREADABLE",
  /**
   * GET_FILE (version 2): the file changed on E while it was being read (its size, mtime or ctime moved between
   * the fstat before and after the read), so the bytes sent are no one consistent version. Discard them.
   */
  ChangedWhileReading: "CHANGED_WHILE_READING",
  /** The connection has too much outstanding (open uploads, queued requests); wait for answers, then send again. */
  Busy: "BUSY",
  /** The daemon failed while serving a request. */
  Internal: "INTERNAL",
  /** The client's proof of the token (AUTH) was wrong or missing; the daemon closes the connection. */
  Unauthorized: "UNAUTHORIZED",
} as const;

/** A literal error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Longest error message on the wire, in characters. */
export const MAX_ERROR_MESSAGE = 4096;

/** An error that knows its wire code. Anything thrown can be normalised into one with {@link toProtocolError}. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }

  /** The wire form of this error, answering request `id` when there is one. */
  toWire(id?: number): { type: "ERROR"; id?: number; code: ErrorCode; message: string } {
    const message = this.message.length > MAX_ERROR_MESSAGE ? `${this.message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : this.message;
    return id === undefined ? { type: "ERROR", code: this.code, message } : { type: "ERROR", id, code: this.code, message };
  }
}

/** Turns anything thrown into a ProtocolError; unknown failures become INTERNAL. */
export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProtocolError(ErrorCode.Internal, message, { cause: err });
}

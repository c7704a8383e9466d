import { DELTA_FEATURE, ErrorCode, ProtocolError } from "@zync/protocol";

/** Signature frames one connection may have sent ahead of their GET_DELTA (a client sends one right before it). */
export const MAX_WAITING_SIGNATURES = 4;

/**
 * The block signatures a client sent for its next GET_DELTAs (feature "delta", docs/protocol.md section 14.6),
 * by request id, until the request takes them. Bounded, so a client cannot park frames here without asking.
 */
export class DeltaBases {
  private readonly waiting = new Map<number, Uint8Array>();

  /** Keeps the signatures for request `id`; a refusal when the feature is off or too many wait already. */
  put(id: number, signatures: Uint8Array, features: ReadonlySet<string>): ProtocolError | undefined {
    if (!features.has(DELTA_FEATURE)) return notAgreed();
    if (this.waiting.has(id)) return new ProtocolError(ErrorCode.BadMessage, `signatures for request ${id} were sent twice`);
    if (this.waiting.size >= MAX_WAITING_SIGNATURES) {
      return new ProtocolError(ErrorCode.Busy, `${MAX_WAITING_SIGNATURES} signature frames wait for their GET_DELTA already; send each GET_DELTA right after its signatures`);
    }
    this.waiting.set(id, signatures);
    return undefined;
  }

  /** The signatures sent for request `id`; refused when the feature is off or they were not sent. */
  take(id: number, features: ReadonlySet<string>): Uint8Array {
    if (!features.has(DELTA_FEATURE)) throw notAgreed();
    const signatures = this.waiting.get(id);
    if (signatures === undefined) throw new ProtocolError(ErrorCode.BadMessage, `GET_DELTA ${id} refused: its signatures frame (kind 4, same id) did not come first`);
    this.waiting.delete(id);
    return signatures;
  }
}

function notAgreed(): ProtocolError {
  return new ProtocolError(ErrorCode.BadMessage, `the feature "${DELTA_FEATURE}" was not agreed on this connection`);
}

import { DeltaOpReader, ErrorCode, ProtocolError, type BlockSignatures } from "@zync/protocol";

/** Reads `length` bytes of R's base from `offset` (fewer only when the base is shorter now). */
export type BaseReader = (offset: number, length: number) => Uint8Array;

/** Most base bytes copied in one piece. */
const COPY_PIECE_BYTES = 1024 * 1024;

/**
 * Rebuilds E's file from an op stream (frame payloads, in order) and R's base: COPY reads blocks of the base,
 * LITERAL passes bytes on, everything goes to `write` in order. Ops that do not fit the base or the announced
 * size are refused with a ProtocolError (BAD_MESSAGE) before anything more is written; a base that reads short
 * (R truncated it meanwhile) is refused too. The result's hash is the caller's to check.
 */
export class DeltaApplier {
  private readonly ops = new DeltaOpReader();
  private size: number | undefined;
  /** Bytes written so far. */
  produced = 0;

  private readonly base: Pick<BlockSignatures, "blockSize" | "baseSize">;
  private readonly readBase: BaseReader;
  private readonly write: (bytes: Uint8Array) => Promise<void>;

  constructor(base: Pick<BlockSignatures, "blockSize" | "baseSize">, readBase: BaseReader, write: (bytes: Uint8Array) => Promise<void>) {
    this.base = base;
    this.readBase = readBase;
    this.write = write;
  }

  /** Applies the ops of one frame's payload. */
  async push(data: Uint8Array): Promise<void> {
    const decoded = this.ops.push(data);
    if (!decoded.ok) throw refused(decoded.error);
    for (const event of decoded.message) {
      if (event.kind === "size") {
        this.size = event.size;
        continue;
      }
      const size = this.size!;
      if (event.kind === "literal") {
        this.grow(event.bytes.byteLength, size);
        await this.write(event.bytes);
        continue;
      }
      const { blockSize, baseSize } = this.base;
      const blocks = Math.ceil(baseSize / blockSize);
      if (event.index >= blocks || event.count > blocks - event.index) {
        throw refused(`COPY of blocks ${event.index}..${event.index + event.count - 1} of a base of ${blocks} blocks`);
      }
      const from = event.index * blockSize;
      const to = Math.min(baseSize, (event.index + event.count) * blockSize);
      this.grow(to - from, size);
      for (let at = from; at < to; ) {
        const want = Math.min(COPY_PIECE_BYTES, to - at);
        const bytes = this.readBase(at, want);
        if (bytes.byteLength !== want) throw new ProtocolError(ErrorCode.ContentMismatch, "R's base file changed while the delta was applied");
        await this.write(bytes);
        at += want;
      }
    }
  }

  /** Checks that the stream is complete and made exactly `size` bytes (the size FILE_END reports). */
  end(size: number): void {
    const ended = this.ops.end();
    if (!ended.ok) throw refused(ended.error);
    if (this.size !== size) throw refused(`the delta announced ${this.size} bytes but FILE_END says ${size}`);
    if (this.produced !== size) throw refused(`the delta made ${this.produced} bytes of the announced ${size}`);
  }

  private grow(bytes: number, size: number): void {
    if (this.produced + bytes > size) throw refused(`the delta makes more than the announced ${size} bytes`);
    this.produced += bytes;
  }
}

function refused(why: string): ProtocolError {
  return new ProtocolError(ErrorCode.BadMessage, `the daemon sent a delta this client cannot apply: ${why}`);
}

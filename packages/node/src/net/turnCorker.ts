/** The parts of a socket that write coalescing uses (a net.Socket has them). */
export type CorkableSocket = { cork(): void; uncork(): void };

/**
 * Coalesces the frames one side sends in one turn of the event loop into as few writes as the socket allows:
 * the first send of a turn corks the socket, and it is uncorked when the turn is over. A window of requests, or a
 * file's data frame and its FILE_END, then cost one system call instead of one each.
 */
export class TurnCorker {
  private readonly socket: CorkableSocket | undefined;
  private corked = false;

  constructor(socket: CorkableSocket | undefined) {
    this.socket = socket;
  }

  /** Called before each send. */
  beforeSend(): void {
    if (this.corked || this.socket === undefined) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket?.uncork();
    });
  }
}

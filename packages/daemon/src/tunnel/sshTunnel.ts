import type { Logger } from "@zync/node";
import { Backoff, formatDelay } from "./backoff.js";
import type { RemoteEnd } from "./remoteSocket.js";
import { spawnSshProcess, type SpawnSsh, type SshExit, type SshProcess } from "./sshProcess.js";

/** The supervisor's timing; every value has a default, tests shorten or drive them. */
export type TunnelTiming = {
  /** Delay before the first restart; it doubles after each failure in a row. */
  firstRetryMs: number;
  /** Longest delay between restarts. */
  maxRetryMs: number;
  /** Share of each delay that is random (0.2 = ±20 %). */
  jitter: number;
  /** A tunnel that stayed up this long starts the backoff over when it drops. */
  stableMs: number;
  /**
   * When ssh never reports that R accepted the forward (an ssh whose `-v` output reads differently), the tunnel
   * counts as up once ssh has lived this long with nothing new on stderr.
   */
  quietUpMs: number;
  /** How long ssh gets to exit after SIGTERM before it is sent SIGKILL. */
  killGraceMs: number;
};

/** Defaults of {@link TunnelTiming}. */
export const DEFAULT_TUNNEL_TIMING: TunnelTiming = {
  firstRetryMs: 1000,
  maxRetryMs: 60_000,
  jitter: 0.2,
  stableMs: 30_000,
  quietUpMs: 3000,
  killGraceMs: 3000,
};

/** Timers and time, injected so tests can run the supervisor without waiting. */
export type TunnelClock = {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

const realClock: TunnelClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

/** Where the supervisor is. */
export type TunnelState = "idle" | "connecting" | "up" | "waiting" | "stopped";

/** What a supervised tunnel needs. */
export type SshTunnelOptions = {
  /** Path of the ssh program. */
  ssh: string;
  /** Its arguments (see `sshTunnelArgs`); they must include `-v` for an exact "up". Unused with `prepare`. */
  args: readonly string[];
  /** R's end, to recognise ssh's report that the forward was accepted and to name it in log lines. */
  remote: RemoteEnd;
  /**
   * A step run before each start of ssh (making the socket's folder on R, say); it resolves with the arguments and
   * R's end as they are now known. A failure counts as a failed start, retried after the backoff.
   */
  prepare?: () => Promise<{ args: readonly string[]; remote: RemoteEnd }>;
  /** R as the user named it, for log lines. */
  remoteName: string;
  logger: Pick<Logger, "info" | "verbose" | "warn">;
  spawn?: SpawnSsh;
  timing?: Partial<TunnelTiming>;
  clock?: TunnelClock;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
};

// ssh -v says this once R has bound the port: "debug1: remote forward success for: listen 8000, connect ...".
const FORWARD_ACCEPTED = /remote forward success for: listen (?:\S+:)?(\d+),/;
// ... and for a socket: "debug1: remote forward success for: listen /home/u/.zync/zync.sock:-2, connect ...".
const SOCKET_ACCEPTED = "remote forward success for: listen ";
// Lines ssh -v prints that never explain why it stopped.
const NOT_A_REASON = /^(debug\d?:|OpenSSH_|Authenticated to |Transferred: |Bytes per second: )/;
const MAX_LINE = 300;

/** Quotes an argument for a log line when it needs it. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `ssh -N -R ...` and keeps it running: when ssh exits for any reason it is started again after an
 * exponential, jittered backoff, which starts over once a tunnel has stayed up for `stableMs`. One log line per
 * event. `stop()` ends ssh and the restarts.
 */
export class SshTunnel {
  private readonly opts: SshTunnelOptions;
  private readonly timing: TunnelTiming;
  private readonly clock: TunnelClock;
  private readonly spawn: SpawnSsh;
  private readonly backoff: Backoff;
  private current: SshProcess | undefined;
  private currentState: TunnelState = "idle";
  private upAt: number | undefined;
  /** The last line of this run's stderr that may explain an exit (since the tunnel came up, if it did). */
  private lastLine: string | undefined;
  /** R's end of the current run (the resolved socket path once `prepare` ran). */
  private remote: RemoteEnd;
  private partial = "";
  private quietTimer: unknown;
  private retryTimer: unknown;
  private killTimer: unknown;
  private stopped: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;

  constructor(opts: SshTunnelOptions) {
    this.opts = opts;
    this.timing = { ...DEFAULT_TUNNEL_TIMING, ...opts.timing };
    this.clock = opts.clock ?? realClock;
    this.spawn = opts.spawn ?? spawnSshProcess;
    this.remote = opts.remote;
    this.backoff = new Backoff(
      { firstMs: this.timing.firstRetryMs, maxMs: this.timing.maxRetryMs, jitter: this.timing.jitter },
      opts.random,
    );
  }

  get state(): TunnelState {
    return this.currentState;
  }

  /** The pid of the running ssh, if one runs. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Starts ssh; it is restarted whenever it exits, until {@link stop}. */
  start(): void {
    if (this.currentState !== "idle") return;
    this.launch();
  }

  /** Ends ssh (SIGTERM, then SIGKILL after `killGraceMs`) and every restart; resolves once ssh has exited. */
  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.currentState = "stopped";
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.quietTimer);
    const child = this.current;
    if (child === undefined) {
      this.stopped = Promise.resolve();
      return this.stopped;
    }
    this.stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
    child.kill("SIGTERM");
    this.killTimer = this.clock.setTimeout(() => child.kill("SIGKILL"), this.timing.killGraceMs);
    return this.stopped;
  }

  private launch(): void {
    this.currentState = "connecting";
    this.upAt = undefined;
    this.lastLine = undefined;
    this.partial = "";
    const { prepare } = this.opts;
    if (prepare === undefined) return this.run(this.opts.args);
    prepare().then(
      ({ args, remote }) => {
        if (this.currentState !== "connecting") return this.stoppedWhilePreparing();
        this.remote = remote;
        this.run(args);
      },
      (err: unknown) => {
        if (this.currentState !== "connecting") return this.stoppedWhilePreparing();
        this.onExit({ code: null, signal: null, error: err instanceof Error ? err : new Error(String(err)), preparing: true });
      },
    );
  }

  private stoppedWhilePreparing(): void {
    this.clock.clearTimeout(this.killTimer);
    this.resolveStopped?.();
  }

  private run(args: readonly string[]): void {
    const { ssh, logger } = this.opts;
    let child: SshProcess;
    try {
      child = this.spawn(ssh, args);
    } catch (err) {
      // Out of processes or file descriptors, say: a failed start like any other, retried after the backoff.
      this.onExit({ code: null, signal: null, error: err instanceof Error ? err : new Error(String(err)) });
      return;
    }
    this.current = child;
    logger.verbose(`tunnel: started ssh (pid ${child.pid ?? "?"}): ${[ssh, ...args].map(shellWord).join(" ")}`);
    child.onStderr((text) => {
      if (this.current === child) this.onStderr(text);
    });
    child.onExit((exit) => {
      if (this.current === child) this.onExit(exit);
    });
    this.armQuietTimer();
  }

  private armQuietTimer(): void {
    this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = this.clock.setTimeout(() => this.markUp(), this.timing.quietUpMs);
  }

  private onStderr(text: string): void {
    const lines = (this.partial + text).split(/\r?\n/);
    this.partial = (lines.pop() ?? "").slice(-4 * MAX_LINE);
    for (const line of lines) this.onLine(line.trim());
    if (this.currentState === "connecting") this.armQuietTimer();
  }

  private onLine(line: string): void {
    if (line === "") return;
    const accepted = FORWARD_ACCEPTED.exec(line);
    const remote = this.remote;
    const ours =
      remote.kind === "port" ? accepted !== null && Number(accepted[1]) === remote.port : line.includes(`${SOCKET_ACCEPTED}${remote.path}:-2,`);
    if (ours) {
      this.markUp();
      return;
    }
    if (/^debug\d?:/.test(line)) return;
    const shown = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    this.opts.logger.verbose(`tunnel: ssh: ${shown}`);
    if (!NOT_A_REASON.test(line)) this.lastLine = shown;
  }

  private markUp(): void {
    if (this.currentState !== "connecting") return;
    this.clock.clearTimeout(this.quietTimer);
    this.currentState = "up";
    this.upAt = this.clock.now();
    this.lastLine = undefined;
    const remote = this.remote;
    this.opts.logger.info(
      remote.kind === "port"
        ? `tunnel up: localhost:${remote.port} on ${this.opts.remoteName} reaches this daemon`
        : `tunnel up: ${remote.path} on ${this.opts.remoteName} reaches this daemon (there: zync-client --server unix:${remote.path})`,
    );
  }

  private onExit(exit: SshExit & { preparing?: boolean }): void {
    if (this.partial !== "") this.onLine(this.partial.trim());
    this.partial = "";
    this.clock.clearTimeout(this.quietTimer);
    this.current = undefined;
    if (this.currentState === "stopped") {
      this.clock.clearTimeout(this.killTimer);
      this.resolveStopped?.();
      return;
    }
    const wasUp = this.upAt !== undefined;
    if (this.upAt !== undefined && this.clock.now() - this.upAt >= this.timing.stableMs) this.backoff.reset();
    const delay = this.backoff.next();
    const what = wasUp ? "tunnel down" : "tunnel could not be opened";
    this.opts.logger.warn(`${what} (${this.describeExit(exit)}); retrying in ${formatDelay(delay)}`);
    this.currentState = "waiting";
    this.retryTimer = this.clock.setTimeout(() => this.launch(), delay);
  }

  private describeExit(exit: SshExit & { preparing?: boolean }): string {
    if (exit.error) return exit.preparing === true ? exit.error.message : `could not run ${this.opts.ssh}: ${exit.error.message}`;
    const how = exit.signal !== null ? `ssh was killed by ${exit.signal}` : `ssh exited ${exit.code ?? "?"}`;
    return this.lastLine === undefined ? how : `${how}: ${this.lastLine}`;
  }
}

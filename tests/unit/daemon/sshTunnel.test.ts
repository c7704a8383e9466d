import { describe, expect, test } from "@jest/globals";
import {
  Backoff,
  formatDelay,
  SshTunnel,
  type SshExit,
  type SshProcess,
  type SshTunnelOptions,
  type TunnelClock,
} from "@zync/daemon";

/** Timers that fire only when the test moves time forward. */
class FakeClock implements TunnelClock {
  private time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Delays of the timers still pending, from now. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

/** A stand-in for one run of ssh: the test writes its stderr, ends it, and sees the signals it was sent. */
class FakeSsh implements SshProcess {
  readonly signals: NodeJS.Signals[] = [];
  readonly pid: number;
  readonly args: readonly string[];
  private readonly stderrListeners: ((text: string) => void)[] = [];
  private readonly exitListeners: ((exit: SshExit) => void)[] = [];

  constructor(pid: number, args: readonly string[]) {
    this.pid = pid;
    this.args = args;
  }

  onStderr(listener: (text: string) => void): void {
    this.stderrListeners.push(listener);
  }

  onExit(listener: (exit: SshExit) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }

  stderr(text: string): void {
    for (const l of this.stderrListeners) l(text);
  }

  /** ssh reports that R accepted the forward of `port`. */
  accepted(port: number): void {
    this.stderr(`debug1: remote forward success for: listen ${port}, connect 127.0.0.1:40000\r\n`);
  }

  exit(exit: SshExit): void {
    for (const l of this.exitListeners) l(exit);
  }
}

type Harness = {
  tunnel: SshTunnel;
  clock: FakeClock;
  runs: FakeSsh[];
  /** The run started last. */
  last(): FakeSsh;
  info: string[];
  warn: string[];
  verbose: string[];
};

const REMOTE_PORT = 8000;

function harness(opts: Partial<SshTunnelOptions> = {}): Harness {
  const clock = new FakeClock();
  const runs: FakeSsh[] = [];
  const info: string[] = [];
  const warn: string[] = [];
  const verbose: string[] = [];
  const tunnel = new SshTunnel({
    ssh: "/usr/bin/ssh",
    args: ["-N", "-R", `${REMOTE_PORT}:127.0.0.1:40000`, "--", "alice@gpu-box"],
    remote: { kind: "port", port: REMOTE_PORT },
    remoteName: "alice@gpu-box",
    logger: { info: (m) => info.push(m), warn: (m) => warn.push(m), verbose: (m) => verbose.push(m) },
    spawn: (_ssh, args) => {
      const run = new FakeSsh(1000 + runs.length, args);
      runs.push(run);
      return run;
    },
    clock,
    random: () => 0.5, // no jitter
    timing: { firstRetryMs: 1000, maxRetryMs: 60_000, stableMs: 30_000, quietUpMs: 3000, killGraceMs: 5000 },
    ...opts,
  });
  const last = (): FakeSsh => {
    const run = runs.at(-1);
    if (!run) throw new Error("ssh was never started");
    return run;
  };
  return { tunnel, clock, runs, last, info, warn, verbose };
}

describe("SshTunnel", () => {
  test("ssh's report that R accepted the forward marks the tunnel up, with one log line", () => {
    const h = harness();
    h.tunnel.start();
    expect(h.runs).toHaveLength(1);
    expect(h.last().args).toEqual(["-N", "-R", "8000:127.0.0.1:40000", "--", "alice@gpu-box"]);
    expect(h.tunnel.state).toBe("connecting");
    expect(h.tunnel.pid).toBe(1000);
    expect(h.verbose[0]).toMatch(/^tunnel: started ssh \(pid 1000\): \/usr\/bin\/ssh -N -R 8000:127\.0\.0\.1:40000 -- alice@gpu-box$/);

    h.last().stderr("OpenSSH_9.2p1\nWarning: Permanently added 'gpu-box' to the list of known hosts.\ndebug1: Authenticating\n");
    expect(h.tunnel.state).toBe("connecting");
    // Another port's success does not count, and a line may arrive in pieces.
    h.last().stderr("debug1: remote forward success for: listen 9000, connect 127.0.0.1:1\ndebug1: remote forward succ");
    expect(h.tunnel.state).toBe("connecting");
    h.last().stderr("ess for: listen 8000, connect 127.0.0.1:40000\n");
    expect(h.tunnel.state).toBe("up");
    expect(h.info).toEqual(["tunnel up: localhost:8000 on alice@gpu-box reaches this daemon"]);
    expect(h.warn).toEqual([]);
    // ssh's own lines show at verbose level; its debug lines never do.
    expect(h.verbose).toContain("tunnel: ssh: Warning: Permanently added 'gpu-box' to the list of known hosts.");
    expect(h.verbose.some((l) => l.includes("debug1"))).toBe(false);
  });

  test("without ssh's report, a ssh that stays alive with a quiet stderr counts as up", () => {
    const h = harness();
    h.tunnel.start();
    h.clock.advance(2000);
    h.last().stderr("Authenticated to gpu-box\n");
    h.clock.advance(2999);
    expect(h.tunnel.state).toBe("connecting");
    h.clock.advance(1);
    expect(h.tunnel.state).toBe("up");
    expect(h.info).toEqual(["tunnel up: localhost:8000 on alice@gpu-box reaches this daemon"]);
  });

  test("every exit restarts ssh after a growing backoff, capped, and says why in one line each", () => {
    const h = harness();
    h.tunnel.start();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      h.last().stderr("Warning: Permanently added 'gpu-box'\nError: remote port forwarding failed for listen port 8000\n");
      h.last().exit({ code: 255, signal: null });
      expect(h.tunnel.state).toBe("waiting");
      const [delay, ...others] = h.clock.pending();
      expect(others).toEqual([]);
      delays.push(delay!);
      const runs = h.runs.length;
      h.clock.advance(delay! - 1);
      expect(h.runs).toHaveLength(runs);
      h.clock.advance(1);
      expect(h.runs).toHaveLength(runs + 1);
      expect(h.tunnel.state).toBe("connecting");
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(h.warn).toHaveLength(9);
    expect(h.warn[0]).toBe(
      "tunnel could not be opened (ssh exited 255: Error: remote port forwarding failed for listen port 8000); retrying in 1 s",
    );
    expect(h.warn[2]).toMatch(/retrying in 4 s$/);
    expect(h.warn[8]).toMatch(/retrying in 60 s$/);
    expect(h.info).toEqual([]);
  });

  test("a tunnel that was up and drops says 'tunnel down' with the last line ssh printed since it came up", () => {
    const h = harness();
    h.tunnel.start();
    h.last().stderr("Authenticated to gpu-box ([10.0.0.7]:22) using \"publickey\".\n");
    h.last().accepted(REMOTE_PORT);
    h.last().stderr("Timeout, server gpu-box not responding.");
    h.last().exit({ code: 255, signal: null });
    expect(h.warn).toEqual(["tunnel down (ssh exited 255: Timeout, server gpu-box not responding.); retrying in 1 s"]);

    h.clock.advance(1000);
    h.last().accepted(REMOTE_PORT);
    h.last().exit({ code: null, signal: "SIGKILL" });
    expect(h.warn[1]).toBe("tunnel down (ssh was killed by SIGKILL); retrying in 2 s");
    expect(h.info).toHaveLength(2);
  });

  test("the backoff starts over once a tunnel stayed up for the stable period, and not before", () => {
    const h = harness();
    h.tunnel.start();
    for (let i = 0; i < 4; i++) {
      h.last().exit({ code: 255, signal: null });
      h.clock.advance(h.clock.pending()[0]!);
    }
    // Up, but not for long: the backoff keeps growing.
    h.last().accepted(REMOTE_PORT);
    h.clock.advance(29_999);
    h.last().exit({ code: 255, signal: null });
    expect(h.clock.pending()).toEqual([16_000]);
    h.clock.advance(16_000);

    // Up for the stable period: the next drop is retried after the first delay again, then it grows anew.
    h.last().accepted(REMOTE_PORT);
    h.clock.advance(30_000);
    h.last().exit({ code: 255, signal: null });
    expect(h.clock.pending()).toEqual([1000]);
    h.clock.advance(1000);
    h.last().exit({ code: 255, signal: null });
    expect(h.clock.pending()).toEqual([2000]);
  });

  test("jitter spreads each delay by the configured share", () => {
    const low = harness({ random: () => 0 });
    low.tunnel.start();
    low.last().exit({ code: 255, signal: null });
    expect(low.clock.pending()).toEqual([800]);
    expect(low.warn[0]).toMatch(/retrying in 0\.8 s$/);

    const high = harness({ random: () => 0.999_999 });
    high.tunnel.start();
    high.last().exit({ code: 255, signal: null });
    expect(high.clock.pending()).toEqual([1200]);
  });

  test("a ssh that cannot be started is retried like any other exit", () => {
    const h = harness();
    h.tunnel.start();
    h.last().exit({ code: null, signal: null, error: new Error("spawn /usr/bin/ssh ENOENT") });
    expect(h.warn).toEqual(["tunnel could not be opened (could not run /usr/bin/ssh: spawn /usr/bin/ssh ENOENT); retrying in 1 s"]);
    h.clock.advance(1000);
    expect(h.runs).toHaveLength(2);
  });

  test("a spawn that throws is retried too, and does not throw out of the supervisor", () => {
    let fail = true;
    const h = harness();
    const tunnel = new SshTunnel({
      ssh: "/usr/bin/ssh",
      args: [],
      remote: { kind: "port", port: REMOTE_PORT },
      remoteName: "gpu-box",
      logger: { info: () => undefined, verbose: () => undefined, warn: (m) => h.warn.push(m) },
      spawn: (_ssh, args) => {
        if (fail) throw new Error("spawn EAGAIN");
        const run = new FakeSsh(1, args);
        h.runs.push(run);
        return run;
      },
      clock: h.clock,
      random: () => 0.5,
    });
    tunnel.start();
    expect(h.warn).toEqual(["tunnel could not be opened (could not run /usr/bin/ssh: spawn EAGAIN); retrying in 1 s"]);
    fail = false;
    h.clock.advance(1000);
    expect(h.runs).toHaveLength(1);
    expect(tunnel.state).toBe("connecting");
  });

  test("stop() sends SIGTERM, then SIGKILL if ssh lingers, resolves once it exited, and nothing restarts", async () => {
    const h = harness();
    h.tunnel.start();
    h.last().accepted(REMOTE_PORT);
    const run = h.last();
    let stopped = false;
    const stopping = h.tunnel.stop().then(() => (stopped = true));
    expect(run.signals).toEqual(["SIGTERM"]);
    expect(h.tunnel.state).toBe("stopped");
    h.clock.advance(4999);
    expect(run.signals).toEqual(["SIGTERM"]);
    h.clock.advance(1);
    expect(run.signals).toEqual(["SIGTERM", "SIGKILL"]);
    await Promise.resolve();
    expect(stopped).toBe(false);

    run.exit({ code: null, signal: "SIGKILL" });
    await stopping;
    expect(h.clock.pending()).toEqual([]);
    h.clock.advance(3_600_000);
    expect(h.runs).toHaveLength(1);
    expect(h.warn).toEqual([]);
    expect(h.tunnel.pid).toBeUndefined();
    // A second stop() is the same stop.
    await h.tunnel.stop();
  });

  test("stop() while waiting to retry cancels the retry", async () => {
    const h = harness();
    h.tunnel.start();
    h.last().exit({ code: 255, signal: null });
    expect(h.clock.pending()).toEqual([1000]);
    await h.tunnel.stop();
    expect(h.clock.pending()).toEqual([]);
    h.clock.advance(60_000);
    expect(h.runs).toHaveLength(1);
  });

  test("an ssh that exits quickly on SIGTERM needs no SIGKILL", async () => {
    const h = harness();
    h.tunnel.start();
    const run = h.last();
    const stopping = h.tunnel.stop();
    run.exit({ code: 255, signal: null });
    await stopping;
    expect(run.signals).toEqual(["SIGTERM"]);
    expect(h.clock.pending()).toEqual([]);
    expect(h.warn).toEqual([]);
  });
});

describe("Backoff", () => {
  test("doubles from the first delay up to the cap, and starts over on reset", () => {
    const b = new Backoff({ firstMs: 500, maxMs: 3000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 3000, 3000]);
    b.reset();
    expect(b.next()).toBe(500);
  });

  test("delays read as whole seconds, or tenths under a second", () => {
    expect(formatDelay(4000)).toBe("4 s");
    expect(formatDelay(4400)).toBe("4 s");
    expect(formatDelay(60_000)).toBe("60 s");
    expect(formatDelay(800)).toBe("0.8 s");
  });
});

import { afterAll, describe, expect, test } from "@jest/globals";
import { chmodSync, writeFileSync } from "node:fs";
import { ExitCode, UsageError } from "@zync/node";
import {
  DEFAULT_REMOTE_PORT,
  describeTarget,
  parseRemotePort,
  parseSshOption,
  parseTunnelSocket,
  parseTunnelTarget,
  planTunnel,
  resolveRemoteSocket,
  socketPrepCommand,
  sshDestination,
  sshTunnelArgs,
} from "@zync/daemon";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

/** The UsageError `fn` throws, asserted to be one sentence on one line. */
function usageErrorOf(fn: () => unknown): UsageError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UsageError);
  const err = caught as UsageError;
  expect(err.exitCode).toBe(ExitCode.Usage);
  expect(err.message).not.toContain("\n");
  return err;
}

describe("parseTunnelTarget", () => {
  test.each([
    { value: "gpu-box", want: { host: "gpu-box" } },
    { value: "alice@gpu-box", want: { user: "alice", host: "gpu-box" } },
    { value: "alice@gpu.example.org:2222", want: { user: "alice", host: "gpu.example.org", port: 2222 } },
    { value: "10.0.0.7:22", want: { host: "10.0.0.7", port: 22 } },
    { value: "my_alias", want: { host: "my_alias" } },
    { value: "first.last@host", want: { user: "first.last", host: "host" } },
    { value: "bob@[::1]:2222", want: { user: "bob", host: "::1", port: 2222 } },
    { value: "[fe80::1%eth0]", want: { host: "fe80::1%eth0" } },
    { value: "r@h:65535", want: { user: "r", host: "h", port: 65535 } },
  ])("$value is understood", ({ value, want }) => {
    expect(parseTunnelTarget(value)).toEqual(want);
  });

  test.each([
    { value: "", mentions: /empty/ },
    { value: "   ", mentions: /empty/ },
    { value: "@host", mentions: /user name/ },
    { value: "alice@", mentions: /host is empty/ },
    { value: "alice@:22", mentions: /host is empty/ },
    { value: "host:", mentions: /ssh port ""/ },
    { value: "host:0", mentions: /1 to 65535/ },
    { value: "host:65536", mentions: /1 to 65535/ },
    { value: "host:22x", mentions: /ssh port "22x"/ },
    { value: "host:-1", mentions: /ssh port/ },
    { value: "host:22:33", mentions: /brackets/ },
    { value: "::1", mentions: /brackets/ },
    { value: "[::1", mentions: /never closed/ },
    { value: "[::1]x", mentions: /unexpected/ },
    { value: "[gpu-box]:22", mentions: /not an IPv6 address/ },
    { value: "-oProxyCommand=evil", mentions: /not start with '-'/ },
    { value: "-alice@host", mentions: /user name/ },
    { value: "alice@gpu box", mentions: /space/ },
    { value: "al ice@host", mentions: /space/ },
    { value: "a/b@host", mentions: /user name/ },
    { value: "host;rm", mentions: /host/ },
  ])("$value is refused with one sentence", ({ value, mentions }) => {
    const err = usageErrorOf(() => parseTunnelTarget(value));
    expect(err.message).toContain(`--tunnel ${JSON.stringify(value)}`);
    expect(err.message).toMatch(mentions);
  });

  test("the destination and description keep what the user wrote", () => {
    expect(sshDestination(parseTunnelTarget("alice@gpu-box:2222"))).toBe("alice@gpu-box");
    expect(sshDestination(parseTunnelTarget("gpu-box"))).toBe("gpu-box");
    expect(sshDestination(parseTunnelTarget("[::1]:22"))).toBe("::1");
    expect(describeTarget(parseTunnelTarget("alice@[::1]:2222"))).toBe("alice@[::1]:2222");
    expect(describeTarget(parseTunnelTarget("gpu-box"))).toBe("gpu-box");
  });
});

describe("parseRemotePort", () => {
  test("a whole number from 1 to 65535 is taken; 8000 is the default", () => {
    expect(parseRemotePort(1)).toBe(1);
    expect(parseRemotePort(8001)).toBe(8001);
    expect(parseRemotePort(65535)).toBe(65535);
    expect(DEFAULT_REMOTE_PORT).toBe(8000);
  });

  test.each([0, -1, 65536, 80.5, NaN, Infinity])("%p is refused", (port) => {
    expect(usageErrorOf(() => parseRemotePort(port)).message).toMatch(/--remote-port .*1 to 65535/);
  });
});

describe("the ssh command line", () => {
  test("required options come first, --ssh-option before the defaults it may override, the destination last", () => {
    const args = sshTunnelArgs({
      target: parseTunnelTarget("alice@gpu-box:2222"),
      remote: { kind: "port", port: 8001 },
      localHost: "127.0.0.1",
      localPort: 40123,
      identity: "/keys/id",
      options: ["ServerAliveInterval=30"],
    });
    expect(args).toEqual([
      "-N",
      "-v",
      "-o", "ExitOnForwardFailure=yes",
      "-o", "BatchMode=yes",
      "-i", "/keys/id",
      "-o", "ServerAliveInterval=30",
      "-o", "ServerAliveInterval=15",
      "-o", "ServerAliveCountMax=3",
      "-R", "8001:127.0.0.1:40123",
      "-p", "2222",
      "--", "alice@gpu-box",
    ]);
  });

  test("without identity or port, ssh config decides; a wildcard or IPv6 listen address is reached properly", () => {
    const base = { target: parseTunnelTarget("gpu-box"), remote: { kind: "port", port: 8000 } as const, localPort: 8000, options: [] };
    const wildcard = sshTunnelArgs({ ...base, localHost: "0.0.0.0" });
    expect(wildcard).not.toContain("-i");
    expect(wildcard).not.toContain("-p");
    expect(wildcard.slice(-4)).toEqual(["-R", "8000:127.0.0.1:8000", "--", "gpu-box"]);
    expect(sshTunnelArgs({ ...base, localHost: "::1" })).toContain("8000:[::1]:8000");
    expect(sshTunnelArgs({ ...base, localHost: "::" })).toContain("8000:[::1]:8000");
  });

  test("a socket end gets the socket options and -R PATH:HOST:PORT", () => {
    const args = sshTunnelArgs({ target: parseTunnelTarget("gpu-box"), remote: { kind: "socket", path: "/home/u/.zync/zync.sock" }, localHost: "127.0.0.1", localPort: 40123, options: [] });
    expect(args.slice(-8)).toEqual([
      "-o", "StreamLocalBindMask=0177",
      "-o", "StreamLocalBindUnlink=yes",
      "-R", "/home/u/.zync/zync.sock:127.0.0.1:40123",
      "--", "gpu-box",
    ]);
  });

  test("the prep command R runs makes a private folder in the home, removes only a stale socket, and prints the home", () => {
    expect(socketPrepCommand("~/.zync/zync.sock")).toBe(
      "sh -c 'umask 077; mkdir -p .zync; chmod 700 .zync; if test -S .zync/zync.sock; then rm -f .zync/zync.sock; fi; pwd'",
    );
    expect(socketPrepCommand("/run/user/1000/zync.sock")).toBe("sh -c 'if test -S /run/user/1000/zync.sock; then rm -f /run/user/1000/zync.sock; fi; pwd'");
    expect(resolveRemoteSocket("~/.zync/zync.sock", "motd line\n/home/alice\n")).toBe("/home/alice/.zync/zync.sock");
    expect(resolveRemoteSocket("/run/user/1000/zync.sock", "")).toBe("/run/user/1000/zync.sock");
    expect(() => resolveRemoteSocket("~/.zync/zync.sock", "/home/al ice\n")).toThrow(/give --tunnel-socket an absolute path/);
  });

  test.each(["~/.zync/zync.sock", "/run/user/1000/zync.sock", "~/z.sock"])("--tunnel-socket %p is taken", (p) => {
    expect(parseTunnelSocket(p)).toBe(p);
  });

  test.each(["zync.sock", "~/../x.sock", "/tmp/a:b.sock", "/tmp/a b.sock", "~/a//b.sock", "/tmp/x'y.sock", `/${"s".repeat(120)}`])("--tunnel-socket %p is refused", (p) => {
    expect(usageErrorOf(() => parseTunnelSocket(p)).message).toMatch(/--tunnel-socket/);
  });

  test.each(["StrictHostKeyChecking=no", "ServerAliveInterval 30", "ProxyJump = bastion"])("--ssh-option %p is taken", (opt) => {
    expect(parseSshOption(opt)).toBe(opt);
  });

  test.each(["", "=no", "-oFoo=bar", "NoValue", "Two=", "1Bad=x"])("--ssh-option %p is refused", (opt) => {
    expect(usageErrorOf(() => parseSshOption(opt)).message).toMatch(/--ssh-option/);
  });
});

describe("planTunnel", () => {
  /** A PATH holding a fake `ssh` (planTunnel only checks that it is there). */
  function pathWithSsh(): string {
    const dir = tempDir("zync-path-");
    writeFileSync(`${dir}/ssh`, "#!/bin/sh\n");
    chmodSync(`${dir}/ssh`, 0o755);
    return dir;
  }

  test("no --tunnel, no tunnel", () => {
    expect(planTunnel({ sshOptions: [] }, pathWithSsh())).toBeUndefined();
  });

  test("a full plan: the ssh found on PATH, the target, the port, the identity as an absolute path", () => {
    const path = pathWithSsh();
    const key = `${tempDir("zync-key-")}/id`;
    writeFileSync(key, "key");
    const plan = planTunnel({ tunnel: "alice@gpu-box:2222", remotePort: 8001, sshOptions: ["Compression=yes"], sshIdentity: key }, path);
    expect(plan).toEqual({
      ssh: `${path}/ssh`,
      target: { user: "alice", host: "gpu-box", port: 2222 },
      remote: { kind: "port", port: 8001 },
      options: ["Compression=yes"],
      identity: key,
    });
    // Without --remote-port, R's end is a Unix socket in the remote user's home.
    expect(planTunnel({ tunnel: "gpu-box" }, path)?.remote).toEqual({ kind: "socket", path: "~/.zync/zync.sock" });
    expect(planTunnel({ tunnel: "gpu-box", tunnelSocket: "/run/user/1000/zync.sock" }, path)?.remote).toEqual({ kind: "socket", path: "/run/user/1000/zync.sock" });
  });

  test.each([
    { why: "--remote-port without --tunnel", flags: { remotePort: 8001 }, mentions: /--remote-port only applies together with --tunnel/ },
    { why: "--ssh-option without --tunnel", flags: { sshOptions: ["A=b"] }, mentions: /--ssh-option only applies/ },
    { why: "--ssh-identity without --tunnel", flags: { sshIdentity: "/k" }, mentions: /--ssh-identity only applies/ },
    { why: "--tunnel twice", flags: { tunnel: ["a", "b"] }, mentions: /--tunnel may be given only once/ },
    { why: "a bad --remote-port", flags: { tunnel: "h", remotePort: NaN }, mentions: /--remote-port/ },
    { why: "a missing identity file", flags: { tunnel: "h", sshIdentity: "/no/such/key" }, mentions: /--ssh-identity \/no\/such\/key is not a readable file/ },
  ])("$why is refused with one sentence", ({ flags, mentions }) => {
    expect(usageErrorOf(() => planTunnel(flags, pathWithSsh())).message).toMatch(mentions);
  });

  test("no ssh on PATH is refused with one sentence", () => {
    expect(usageErrorOf(() => planTunnel({ tunnel: "gpu-box" }, tempDir("zync-empty-path-"))).message).toMatch(/no 'ssh' program was found on PATH/);
  });
});

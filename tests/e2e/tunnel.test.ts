import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { createServer, type Server } from "node:net";
import { BIN, runBin, startTestDaemon, type TestDaemon } from "../helpers/bins.js";
import { ensureSshTools, ensureStrangerUser, freeLoopbackPort, startLoopbackSshd, type LoopbackSsh } from "../helpers/loopbackSsh.js";
import { waitForDaemonToRecord } from "../helpers/rawSocket.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";
import { snapshotTree } from "../helpers/treeSnapshot.js";
import { waitFor } from "../helpers/waitFor.js";

const missing = ensureSshTools((msg) => console.log(msg));
if (missing !== undefined) console.warn(`skipping the managed tunnel tests: ${missing}`);
const describeWithSsh = missing === undefined ? describe : describe.skip;

/** Pids of live processes whose command line holds an argument starting with `prefix`, read from /proc. */
function pidsWithArg(prefix: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      const state = /\)\s+(\S)/.exec(readFileSync(`/proc/${name}/stat`, "utf8"))?.[1];
      if (state !== "Z" && args.some((a) => a.startsWith(prefix))) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Pids of live processes whose command line holds `-R REMOTE:127.0.0.1:...`. */
function forwardPids(remotePort: number): number[] {
  return pidsWithArg(`${remotePort}:127.0.0.1:`);
}

/** Signals waiting for a process (SigPnd and ShdPnd of /proc/<pid>/status), by name; SIGTERM is bit 15. */
function pendingSignals(pid: number): string[] {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  let mask = 0n;
  for (const m of status.matchAll(/^(?:SigPnd|ShdPnd):\s+([0-9a-f]+)$/gm)) mask |= BigInt(`0x${m[1]}`);
  const names: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };
  return Object.entries(names).flatMap(([n, name]) => ((mask >> BigInt(Number(n) - 1)) & 1n ? [name] : []));
}

/** How many times `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** The pid of the ssh the daemon started last, from its verbose log. */
function lastSshPid(daemon: TestDaemon): number {
  const pids = [...daemon.stdout().matchAll(/tunnel: started ssh \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  const pid = pids.at(-1);
  if (pid === undefined) throw new Error(`the daemon never said it started ssh:\n${daemon.stdout()}${daemon.stderr()}`);
  return pid;
}

/** Listens on `port` on both loopback addresses, so that R's sshd cannot bind the forward there. */
async function occupy(port: number): Promise<Server[]> {
  const servers: Server[] = [];
  for (const host of ["127.0.0.1", "::1"]) {
    const server = createServer((sock) => sock.destroy());
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (ok) servers.push(server);
    else if (host === "127.0.0.1") throw new Error(`port ${port} is taken`);
  }
  return servers;
}

describeWithSsh("zync-daemon --tunnel through a real OpenSSH server on loopback", () => {
  let sshd: LoopbackSsh;
  beforeAll(async () => {
    sshd = await startLoopbackSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
    removeTempDirs();
  });

  /** The daemon's flags for a tunnel into the loopback sshd, where R's port `remotePort` leads to the daemon. */
  const tunnelFlags = (remotePort: number): string[] => [
    "--verbose",
    "--tunnel",
    `${sshd.target}:${sshd.port}`,
    "--remote-port",
    String(remotePort),
    "--ssh-identity",
    sshd.identity,
    "--ssh-option",
    "StrictHostKeyChecking=no",
    "--ssh-option",
    "UserKnownHostsFile=/dev/null",
  ];

  /** `zync-client --once` on "R", reaching the daemon only through the tunnel's end. */
  const onceThroughTunnel = (remotePort: number, daemon: TestDaemon, clientDb: string, r: string) =>
    runBin(BIN.client, ["--once", "--server", `ws://127.0.0.1:${remotePort}`, "--token-file", daemon.tokenFile, "--db", clientDb, "--dirs", `code:${r}`]);

  const tunnelUps = (daemon: TestDaemon): number => count(daemon.stdout(), /tunnel up: localhost:\d+ on \S+ reaches this daemon/);

  test("a client on R syncs through the tunnel the daemon keeps open, again after ssh is killed, and ssh ends with the daemon", async () => {
    const e = tempDir("zync-e-");
    const r = `${tempDir("zync-r-")}/code`;
    const clientDb = `${tempDir("zync-client-")}/client.db`;
    writeFileSync(`${e}/hello.txt`, "hello from E\n");
    writeFileSync(`${e}/notes.md`, "# notes\n");
    const remotePort = await freeLoopbackPort();
    const daemon = await startTestDaemon([`code:${e}`], { args: tunnelFlags(remotePort) });
    try {
      await waitFor(() => tunnelUps(daemon) === 1, "the daemon's 'tunnel up' line");
      expect(daemon.stdout()).toContain(`tunnel up: localhost:${remotePort} on ${sshd.target}:${sshd.port} reaches this daemon`);
      // ssh forwards R's port to the port the daemon chose for itself.
      expect(daemon.stdout()).toContain(`-R ${remotePort}:127.0.0.1:${daemon.port} `);
      const first = await onceThroughTunnel(remotePort, daemon, clientDb, r);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      const killed = lastSshPid(daemon);
      expect(forwardPids(remotePort)).toContain(killed);
      process.kill(killed, "SIGKILL");
      await waitFor(() => /tunnel down \(ssh was killed by SIGKILL\); retrying in \d/.test(daemon.stderr()), "the daemon to report the tunnel down");
      await waitFor(() => tunnelUps(daemon) === 2, "the tunnel to come back");
      expect(lastSshPid(daemon)).not.toBe(killed);

      writeFileSync(`${e}/after-restart.txt`, "written after the tunnel came back\n");
      writeFileSync(`${e}/hello.txt`, "hello again from E, longer\n");
      await waitForDaemonToRecord(daemon.url, daemon.tokenFile, "code", e);
      await waitFor(async () => (await onceThroughTunnel(remotePort, daemon, clientDb, r)).code === 0, "a client run through the restored tunnel");
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await daemon.stop();
    }
    expect(await daemon.exited).toBe(0);
    await waitFor(() => forwardPids(remotePort).length === 0, "no ssh for the forward to remain", 10_000);
  });

  const stranger = ensureStrangerUser();
  if ("missing" in stranger) console.warn(`skipping the other-user check of the socket tunnel: ${stranger.missing}`);

  test("the tunnel makes a 0600 socket in R's home (~/...), a stale one is replaced, the client syncs through it, and another user is refused", async () => {
    const e = tempDir("zync-e-");
    const r = `${tempDir("zync-r-")}/code`;
    writeFileSync(`${e}/hello.txt`, "hello through a socket\n");
    // A folder of its own in the home of sshd's user, so that a real ~/.zync of this machine is left alone.
    const folder = `.zync-test-${process.pid}-${Date.now()}`;
    const socket = `${homedir()}/${folder}/zync.sock`;
    // A socket left by an earlier tunnel: sshd (StreamLocalBindUnlink no) would refuse to bind over it.
    execFileSync("mkdir", ["-p", `${homedir()}/${folder}`]);
    execFileSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(socket)}, function () { process.exit(0); })`]);
    expect(lstatSync(socket).isSocket()).toBe(true);
    const flags = tunnelFlags(0).filter((a, i, all) => a !== "--remote-port" && all[i - 1] !== "--remote-port");
    const daemon = await startTestDaemon([`code:${e}`], { args: [...flags, "--tunnel-socket", `~/${folder}/zync.sock`] });
    try {
      await waitFor(() => daemon.stdout().includes(`tunnel up: ${socket} on ${sshd.target}:${sshd.port} reaches this daemon`), "the daemon's 'tunnel up' line", 30_000);
      expect(daemon.stdout()).toContain(`-o StreamLocalBindMask=0177 -o StreamLocalBindUnlink=yes -R ${socket}:127.0.0.1:${daemon.port} `);
      const st = lstatSync(socket);
      expect(st.isSocket()).toBe(true);
      expect((st.mode & 0o777).toString(8)).toBe("600");
      expect((lstatSync(`${homedir()}/${folder}`).mode & 0o777).toString(8)).toBe("700");

      const run = await runBin(BIN.client, ["--once", "--server", `unix:${socket}`, "--token-file", daemon.tokenFile, "--db", `${tempDir("zync-client-")}/c.db`, "--dirs", `code:${r}`]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));

      if ("user" in stranger) {
        const probe = `const s = require("net").createConnection(${JSON.stringify(socket)}); s.on("connect", () => { console.log("CONNECTED"); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(0); });`;
        const seen = execFileSync("runuser", ["-u", stranger.user, "--", process.execPath, "-e", probe], { encoding: "utf8" }).trim();
        expect(seen).toBe("EACCES");
      }
    } finally {
      await daemon.stop();
      rmSync(`${homedir()}/${folder}`, { recursive: true, force: true });
    }
    await waitFor(() => pidsWithArg(`${socket}:127.0.0.1:`).length === 0, "no ssh for the forward to remain", 10_000);
  });

  test("a forward R refuses is reported with ssh's reason and retried until the port is free", async () => {
    const e = tempDir("zync-e-");
    const r = `${tempDir("zync-r-")}/code`;
    writeFileSync(`${e}/file.txt`, "content\n");
    const remotePort = await freeLoopbackPort();
    let blockers = await occupy(remotePort);
    const daemon = await startTestDaemon([`code:${e}`], { args: tunnelFlags(remotePort) });
    try {
      await waitFor(
        () =>
          new RegExp(
            `tunnel could not be opened \\(ssh exited 255: Error: remote port forwarding failed for listen port ${remotePort}\\); retrying in \\d`,
          ).test(daemon.stderr()),
        "the daemon to report the refused forward",
      );
      expect(tunnelUps(daemon)).toBe(0);
      await Promise.all(blockers.map((s) => new Promise((done) => s.close(done))));
      blockers = [];
      await waitFor(() => tunnelUps(daemon) === 1, "the tunnel to open once the port is free", 60_000);
      const run = await onceThroughTunnel(remotePort, daemon, `${tempDir("zync-client-")}/client.db`, r);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(snapshotTree(r)).toEqual(snapshotTree(e));
    } finally {
      await Promise.all(blockers.map((s) => new Promise((done) => s.close(done))));
      await daemon.stop();
    }
    await waitFor(() => forwardPids(remotePort).length === 0, "no ssh for the forward to remain", 10_000);
  });

  // Only the kernel's parent-death signal (setpriv --pdeathsig) can end ssh when the daemon dies without a word.
  const linuxWithSetpriv = process.platform === "linux" && existsSync("/usr/bin/setpriv");
  (linuxWithSetpriv ? test : test.skip)("ssh does not outlive a daemon killed with SIGKILL", async () => {
    const e = tempDir("zync-e-");
    const remotePort = await freeLoopbackPort();
    const daemon = await startTestDaemon([`code:${e}`], { args: tunnelFlags(remotePort) });
    try {
      await waitFor(() => tunnelUps(daemon) === 1, "the daemon's 'tunnel up' line");
      const ssh = lastSshPid(daemon);
      expect(forwardPids(remotePort)).toContain(ssh);
      // Held still, ssh cannot die from writing to its closed stderr: a SIGTERM waiting for it must come from the kernel.
      process.kill(ssh, "SIGSTOP");
      daemon.proc.kill("SIGKILL");
      expect(await daemon.exited).toBe("SIGKILL");
      await waitFor(() => pendingSignals(ssh).includes("SIGTERM"), "the kernel to send ssh SIGTERM when its daemon died", 10_000);
      process.kill(ssh, "SIGCONT");
      await waitFor(() => forwardPids(remotePort).length === 0, "ssh to end with its daemon", 10_000);
    } finally {
      await daemon.stop();
      for (const pid of forwardPids(remotePort)) process.kill(pid, "SIGKILL");
    }
  });
});

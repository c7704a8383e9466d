import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** Where Debian puts the OpenSSH server. */
export const SSHD = "/usr/sbin/sshd";

/**
 * Makes sure ssh, sshd and rsync are here, installing them with apt-get when they are missing and this process
 * may (root, apt-get present). Returns undefined when ready, or a sentence saying why they cannot be had.
 */
export function ensureSshTools(log: (msg: string) => void = () => undefined): string | undefined {
  const have = (): boolean => existsSync(SSHD) && existsSync("/usr/bin/ssh") && existsSync("/usr/bin/ssh-keygen") && existsSync("/usr/bin/rsync");
  if (have()) return undefined;
  if (process.getuid?.() !== 0) return "openssh-server or rsync is missing and installing them needs root";
  if (!existsSync("/usr/bin/apt-get")) return "openssh-server or rsync is missing and there is no apt-get to install them";
  log("installing openssh-server, openssh-client and rsync with apt-get (once per machine)");
  try {
    execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server", "openssh-client", "rsync"], {
      stdio: "ignore",
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch (err) {
    return `installing openssh-server and rsync failed: ${(err as Error).message.split("\n")[0]}`;
  }
  return have() ? undefined : "openssh-server or rsync is still missing after apt-get install";
}

/**
 * A second local user, made with useradd when missing, for tests that check what other users on R can reach.
 * Returns its name, or a sentence saying why there can be none (not root, no useradd).
 */
export function ensureStrangerUser(name = "zync-stranger"): { user: string } | { missing: string } {
  const exists = (): boolean => {
    try {
      execFileSync("id", ["-u", name], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (exists()) return { user: name };
  if (process.getuid?.() !== 0) return { missing: `there is no user ${name} and creating one needs root` };
  if (!existsSync("/usr/sbin/useradd")) return { missing: "there is no useradd to create a second local user" };
  try {
    execFileSync("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", name], { stdio: "ignore" });
  } catch (err) {
    return { missing: `useradd ${name} failed: ${(err as Error).message.split("\n")[0]}` };
  }
  return exists() ? { user: name } : { missing: `user ${name} is still missing after useradd` };
}

/** A private OpenSSH server on 127.0.0.1 with its own host key and a key pair for the current user. */
export type LoopbackSsh = {
  port: number;
  /** user@127.0.0.1 */
  target: string;
  /** Options for ssh (and rsync -e) that reach this server non-interactively. */
  sshOptions: string[];
  /** The private key that the server accepts. */
  identity: string;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
};

/** A free TCP port on 127.0.0.1. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts sshd on a free loopback port; resolves once it accepts connections. */
export async function startLoopbackSshd(): Promise<LoopbackSsh> {
  const dir = mkdtempSync(join(tmpdir(), "zync-sshd-"));
  const user = userInfo().username;
  for (const name of ["host_key", "client_key"]) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `zync-${name}`, "-f", join(dir, name)]);
  }
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")), { mode: 0o600 });
  const port = await freeLoopbackPort();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_key")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin yes",
    "AllowTcpForwarding yes",
    "GatewayPorts no",
    "AllowStreamLocalForwarding yes",
    "StreamLocalBindUnlink no",
    `AllowUsers ${user}`,
    "LogLevel ERROR",
  ].join("\n");
  writeFileSync(join(dir, "sshd_config"), `${config}\n`);
  // Privilege separation wants this folder; a fresh machine may not have it.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const proc = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${stderr.trim() || `exit ${proc.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const identity = join(dir, "client_key");
  const sshOptions = [
    "-p", String(port),
    "-i", identity,
    "-o", "IdentitiesOnly=yes",
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
  ];
  return {
    port,
    target: `${user}@127.0.0.1`,
    sshOptions,
    identity,
    dir,
    proc,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

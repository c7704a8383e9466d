import { spawn } from "node:child_process";

/**
 * One step of a terminal conversation: wait until `expect` appears in the output (ANSI escapes and carriage
 * returns removed) after where the previous step's text was found, then type `send`.
 */
export type PtyStep = { expect: string | RegExp; send: string };

/** How a command run in a pseudo-terminal ended. */
export type PtyResult = {
  /** Exit code, or the signal's name when it was killed by one. */
  code: number | string;
  /** Everything it printed (stdout and stderr share the terminal), without ANSI escapes and carriage returns. */
  output: string;
  /** The same, exactly as printed. */
  raw: string;
};

/**
 * Forks the command in a pty, relays the steps' keystrokes (each only once its prompt text has appeared), reads
 * until the command ends, and prints a JSON result on its own stdout. Every wait has a deadline; a missed one
 * kills the command and is reported with the output seen so far.
 */
const SCRIPT = String.raw`
import json, os, pty, re, select, signal, struct, sys, time, fcntl, termios

spec = json.loads(sys.argv[1])
ANSI = re.compile(r"\x1b[78=>]|\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    os.environ.update(spec["env"])
    try:
        os.execv(spec["argv"][0], spec["argv"])
    finally:
        os._exit(127)

raw = bytearray()
eof = False

def clean():
    text = raw.decode("utf-8", "replace")
    return ANSI.sub("", text).replace("\r", "")

def pump(until):
    """Reads whatever is available until the deadline or EOF; returns False at EOF."""
    global eof
    if eof:
        return False
    timeout = max(0.0, min(0.1, until - time.monotonic()))
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        data = b""
    if not data:
        eof = True
        return False
    raw.extend(data)
    return True

def finish(failure):
    if failure is not None:
        # pty.fork made the child a session leader: its process group holds everything it started.
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        end = time.monotonic() + 5
        while pump(end) and time.monotonic() < end:
            pass
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        code = signal.Signals(os.WTERMSIG(status)).name
    else:
        code = os.WEXITSTATUS(status)
    sys.stdout.write(json.dumps({"code": code, "raw": raw.decode("utf-8", "replace"), "output": clean(), "failure": failure}))
    sys.stdout.flush()
    sys.exit(0)

pos = 0
for i, step in enumerate(spec["steps"]):
    pattern = re.compile(step["pattern"]) if step["regex"] else re.compile(re.escape(step["pattern"]))
    deadline = time.monotonic() + spec["stepTimeoutMs"] / 1000
    while True:
        m = pattern.search(clean(), pos)
        if m:
            pos = m.end()
            break
        if eof:
            finish("the command ended before step %d (%s) appeared" % (i + 1, step["pattern"]))
        if time.monotonic() > deadline:
            finish("timed out waiting for step %d (%s)" % (i + 1, step["pattern"]))
        pump(deadline)
    os.write(fd, step["send"].encode("utf-8"))

deadline = time.monotonic() + spec["exitTimeoutMs"] / 1000
while pump(deadline):
    if time.monotonic() > deadline:
        finish("timed out waiting for the command to end after the last step")
finish(None)
`;

/**
 * Runs `argv` (argv[0] an absolute path) in a real pseudo-terminal (python3's pty module) and drives it with
 * `steps`. Throws, with the output seen so far, when a step's text never appears or the command does not end.
 */
export async function runInPty(
  argv: readonly string[],
  steps: readonly PtyStep[],
  opts: { env?: Record<string, string>; stepTimeoutMs?: number; exitTimeoutMs?: number } = {},
): Promise<PtyResult> {
  const spec = {
    argv,
    env: opts.env ?? {},
    steps: steps.map((s) => (typeof s.expect === "string" ? { pattern: s.expect, regex: false, send: s.send } : { pattern: s.expect.source, regex: true, send: s.send })),
    stepTimeoutMs: opts.stepTimeoutMs ?? 20_000,
    exitTimeoutMs: opts.exitTimeoutMs ?? 20_000,
  };
  const proc = spawn("python3", ["-c", SCRIPT, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    proc.once("error", reject);
    proc.once("close", (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`the pty driver exited ${String(code)}: ${err}`);
  const result = JSON.parse(out) as PtyResult & { failure: string | null };
  if (result.failure !== null) throw new Error(`${result.failure}; output so far:\n${result.output}`);
  return { code: result.code, output: result.output, raw: result.raw };
}

/** Matches a freshly rendered prompt for `path` (the prompt's message with no answer typed yet). */
export function freshPrompt(path: string): RegExp {
  return new RegExp(`\\? ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:[ \\t]*\\n`);
}

// npm run demo: a real daemon and client keep two local folders in step, with an edit shown propagating live,
// and a fix made on R brought back to E and merged there with E's own edit of the same file.
// Everything happens under a fresh temp folder, which is removed at the end.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const daemonBin = join(repo, "packages/daemon/bin/zync-daemon.js");
const clientBin = join(repo, "packages/client/bin/zync-client.js");
const applyBin = join(repo, "packages/apply/bin/zync-apply.js");

const SAMPLE = {
  "README.md": "# sample project\n\nSynced by zync.\n",
  "src/main.py": "def main():\n    print('hello from E')\n\n\nif __name__ == '__main__':\n    main()\n",
  "src/util/strings.py": "def shout(s):\n    return s.upper()\n",
  "scripts/run.sh": "#!/bin/sh\npython3 src/main.py\n",
  "data/notes ü.txt": "unicode names and spaces work\n",
};

const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (s) => `\x1b[1m${s}\x1b[0m` : (s) => s;
const say = (msg) => process.stdout.write(`${bold(`==> ${msg}`)}\n`);

function start(bin, args, label) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ZYNC_TOKEN: "" } });
  let out = "";
  const relay = (stream) => (d) => {
    out += d.toString();
    for (const line of d.toString().split("\n").filter(Boolean)) stream.write(`   [${label}] ${line}\n`);
  };
  child.stdout.on("data", relay(process.stdout));
  child.stderr.on("data", relay(process.stderr));
  const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (p) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

const base = mkdtempSync(join(tmpdir(), "zync-demo-"));
const E = join(base, "workstation");
const R = join(base, "remote");
let daemon;
let client;
try {
  say(`sample project on "E": ${E}`);
  for (const [rel, text] of Object.entries(SAMPLE)) {
    mkdirSync(join(E, rel, ".."), { recursive: true });
    writeFileSync(join(E, rel), text);
  }
  chmodSync(join(E, "scripts/run.sh"), 0o755);

  say("starting zync-daemon on E (a free loopback port, its own token file)");
  const db = join(base, "sync.db");
  daemon = start(daemonBin, ["--port", "0", "--db", db, "--dirs", `project:${E}`], "daemon");
  const url = (await until(() => /listening on (ws:\/\/\S+)/.exec(daemon.output()), "the daemon to listen"))[1];

  say(`one-shot pull into "R": zync-client --once --server ${url} --dirs project:${R}`);
  const once = start(clientBin, ["--once", "--server", url, "--token-file", `${db}.token`, "--db", join(base, "client.db"), "--dirs", `project:${R}`], "client");
  const code = await once.exited;
  if (code !== 0) throw new Error(`the one-shot client exited with ${code}`);
  for (const rel of Object.keys(SAMPLE)) if (read(join(R, rel)) !== SAMPLE[rel]) throw new Error(`${rel} did not arrive`);
  say(`all ${Object.keys(SAMPLE).length} files arrived on R`);

  say("starting a live client, then editing src/main.py on E");
  client = start(clientBin, ["--server", url, "--token-file", `${db}.token`, "--db", join(base, "client.db"), "--dirs", `project:${R}`], "client");
  await until(() => client.output().includes("connected"), "the live client to connect");
  const edited = SAMPLE["src/main.py"].replace("hello from E", "hello again, edited on E");
  const t0 = performance.now();
  writeFileSync(join(E, "src/main.py"), edited);
  await until(() => read(join(R, "src/main.py")) === edited, "the edit to reach R");
  say(`the edit reached R in ${Math.round(performance.now() - t0)} ms`);

  say("editing the same file on R and on E: R's edit is kept and reported as a conflict");
  writeFileSync(join(R, "README.md"), "# edited on R\n");
  writeFileSync(join(E, "README.md"), "# edited on E\n");
  await until(() => client.output().includes("conflict: project/README.md"), "the conflict to be reported");
  if (read(join(R, "README.md")) !== "# edited on R\n") throw new Error("R's edit was overwritten");
  say("R still holds its own README.md; nothing was lost");

  say("a fix on R brought back to E: R edits the last line of src/main.py, E meanwhile its first line");
  client.child.kill("SIGTERM");
  await client.exited;
  const fixedOnR = edited.replace("    main()\n", "    raise SystemExit(main())\n");
  const mergedText = fixedOnR.replace("def main():", "def main() -> None:");
  writeFileSync(join(R, "src/main.py"), fixedOnR);
  writeFileSync(join(E, "src/main.py"), edited.replace("def main():", "def main() -> None:"));
  say("zync-client --update-upstream --paths src/main.py: R's edit is staged on E for review");
  const push = start(clientBin, ["--update-upstream", "--paths", "src/main.py", "--server", url, "--token-file", `${db}.token`, "--db", join(base, "client.db"), "--dirs", `project:${R}`], "client");
  if ((await push.exited) !== 0) throw new Error("the upstream push failed");
  const session = (/staged session (\d+) on E/.exec(push.output()) ?? [])[1];
  if (session === undefined) throw new Error("the upstream push staged no session");
  say(`zync-apply apply ${session} --merge: both edits changed the file, far apart, so they merge`);
  const apply = start(applyBin, ["--db", db, "apply", session, "--merge"], "apply");
  if ((await apply.exited) !== 0) throw new Error("the merge did not apply");
  const merged = read(join(E, "src/main.py"));
  if (merged !== mergedText) throw new Error("E's file is not the merge of both edits");
  process.stdout.write(merged.trimEnd().split("\n").map((l) => `   | ${l}\n`).join(""));
  say("E's src/main.py now holds E's edit and R's fix");
  say("demo finished");
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const p of [client, daemon]) {
    if (p && p.child.exitCode === null) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  }
  rmSync(base, { recursive: true, force: true });
}

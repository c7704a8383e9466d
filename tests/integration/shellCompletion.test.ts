import { afterAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, runBin } from "../helpers/bins.js";
import { removeTempDirs, tempDir } from "../helpers/tempDir.js";

afterAll(removeTempDirs);

const COMMANDS = [
  ["zync-client", BIN.client, ["wait", "status", "log", "check-ignore", "service", "completion"]],
  ["zync-daemon", BIN.daemon, ["status", "wait", "log", "check-ignore", "service", "completion"]],
  ["zync-apply", BIN.apply, ["list", "show", "apply", "reject", "undo", "history", "completion"]],
] as const;

/** Sources the printed bash script and asks its completion function about `words`, as bash does on Tab. */
function bashComplete(name: string, bin: string, script: string, words: readonly string[]): string[] {
  const dir = tempDir("zync-completion-");
  // The script calls the command by name, as it is once installed on the PATH.
  writeFileSync(join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  chmodSync(join(dir, name), 0o755);
  writeFileSync(join(dir, "completion.bash"), script);
  const words_ = words.map((w) => `'${w}'`).join(" ");
  const r = spawnSync(
    "bash",
    ["--norc", "-c", `source "${dir}/completion.bash" && COMP_WORDS=(${words_}) && COMP_CWORD=${words.length - 1} && _${name}_yargs_completions && printf '%s\\n' "\${COMPREPLY[@]}"`],
    { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}`, SHELL: "/bin/bash" } },
  );
  if (r.status !== 0) throw new Error(`bash exited ${r.status}: ${r.stderr}`);
  return r.stdout.split("\n").filter((w) => w !== "");
}

describe.each(COMMANDS)("%s completion", (name, bin, subcommands) => {
  test("prints a bash script that completes the subcommands, and nothing else at the first word", async () => {
    const r = await runBin(bin, ["completion"], { SHELL: "/bin/bash" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`complete -o bashdefault -o default -F _${name}_yargs_completions ${name}`);
    expect(bashComplete(name, bin, r.stdout, [name, ""]).sort()).toEqual([...subcommands].sort());
    expect(bashComplete(name, bin, r.stdout, [name, subcommands[0].slice(0, 2)])).toEqual([subcommands[0]]);
  });

  test("prints a zsh script under zsh", async () => {
    const r = await runBin(bin, ["completion"], { SHELL: "/usr/bin/zsh" });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`#compdef ${name}\n`)).toBe(true);
    expect(r.stdout).toContain(`compdef _${name}_yargs_completions ${name}`);
  });
});

test("zync-client completion completes a subcommand's flags", async () => {
  const r = await runBin(BIN.client, ["completion"], { SHELL: "/bin/bash" });
  expect(bashComplete("zync-client", BIN.client, r.stdout, ["zync-client", "wait", "--time"])).toEqual(["--timeout"]);
});

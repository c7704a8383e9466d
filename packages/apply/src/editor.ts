import { spawn } from "node:child_process";

/** How an editor run ended: its exit code, or the signal that ended it. */
export type EditorExit = { code: number | null; signal: NodeJS.Signals | null };

/** Opens a file in the person's editor and waits for it; the real one hands over the terminal, tests pass their own. */
export type Editor = {
  /** The editor's command as set (shown when it fails). */
  command: string;
  edit(file: string): Promise<EditorExit>;
};

/** The editor command a person set: `VISUAL`, else `EDITOR` (empty or blank ones skipped), else `vi`. */
export function editorCommand(env: NodeJS.ProcessEnv): string {
  for (const value of [env.VISUAL, env.EDITOR]) {
    const command = value?.trim();
    if (command) return command;
  }
  return "vi";
}

/**
 * An {@link Editor} on this process's terminal. The command runs as git runs it, `sh -c '<editor> "$@"' <editor>
 * FILE`, so it may carry options and quotes while the file name is passed as one argument, never through the
 * shell. The editor gets the terminal (stdin, stdout, stderr); zync-apply stops reading its input meanwhile, and
 * Ctrl-C is the editor's to handle, not a reason for zync-apply to exit.
 */
export function terminalEditor(env: NodeJS.ProcessEnv = process.env, stdin: NodeJS.ReadStream = process.stdin): Editor {
  const command = editorCommand(env);
  return {
    command,
    async edit(file) {
      const ignoreInterrupt = (): void => {};
      process.on("SIGINT", ignoreInterrupt);
      // The prompt before left the terminal as it found it; make sure nothing here competes for the keys typed.
      if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
      stdin.pause();
      try {
        return await new Promise<EditorExit>((resolve, reject) => {
          const child = spawn("/bin/sh", ["-c", `${command} "$@"`, command, file], { stdio: "inherit", env });
          child.once("error", reject);
          child.once("close", (code, signal) => resolve({ code, signal }));
        });
      } finally {
        process.off("SIGINT", ignoreInterrupt);
      }
    },
  };
}

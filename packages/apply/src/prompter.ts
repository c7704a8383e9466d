import { expand } from "@inquirer/prompts";

/** One choice offered for a change. */
export type Choice<V extends string> = { key: string; name: string; value: V };

/** How zync-apply asks the developer; the real one uses inquirer, tests can pass their own. */
export type Prompter = {
  choose<V extends string>(message: string, choices: readonly Choice<V>[]): Promise<V>;
};

/** Thrown when the developer pressed Ctrl-C at a prompt. */
export class PromptCancelled extends Error {
  override name = "PromptCancelled";
}

type ExpandKey = Parameters<typeof expand>[0]["choices"][number] extends infer C ? (C extends { key: infer K } ? K : never) : never;

/** Asks with inquirer's expand prompt: one key per choice, all choices listed. */
export function inquirerPrompter(): Prompter {
  return {
    async choose(message, choices) {
      try {
        return await expand({
          message,
          expanded: true,
          choices: choices.map((c) => ({ key: c.key as ExpandKey, name: c.name, value: c.value })),
        });
      } catch (err) {
        if (err instanceof Error && err.name === "ExitPromptError") throw new PromptCancelled("cancelled");
        throw err;
      }
    },
  };
}

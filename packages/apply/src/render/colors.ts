/** ANSI colours, off under NO_COLOR or when stdout is not a terminal. */
export type Paint = { red(s: string): string; green(s: string): string; yellow(s: string): string; cyan(s: string): string; bold(s: string): string; dim(s: string): string };

export function createPaint(enabled = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR): Paint {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}

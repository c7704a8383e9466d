import type { z } from "zod";

export { seededRandom } from "./seededRandom.js";

/** Strings a hostile peer would try where the protocol expects a path, a name or an id. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  ".",
  "..",
  "../x",
  "a/../../x",
  "/etc/passwd",
  ".git/hooks/post-checkout",
  ".git/config",
  "node_modules/.bin/x",
  ".zyncignore",
  ".zync-tmp/x",
  "a\\b",
  "a//b",
  "\x1b[2Khidden",
  "\x1b]0;title\x07",
  "c1\u009b31m",
  "bidi\u202etxt",
  "a\r\nb",
  "nul\0byte",
  "🙂/日本",
  "C:x",
  "code",
  "hello.txt",
  "src/main.ts",
  "x".repeat(300),
  `deep/${"n".repeat(300)}/x`,
  "a/".repeat(2000) + "z",
  "y".repeat(4096),
  "y".repeat(4097),
  "0123456789abcdef",
  "ef46db3751d8e999",
];

/** Numbers at and past every edge the protocol has. */
const HOSTILE_NUMBERS: readonly number[] = [0, 1, -1, 0.5, 2, 7, 255, 4096, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53), 1e308, -1e308];

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

type Check = { check?: string; format?: string; pattern?: RegExp; minimum?: number; maximum?: number; value?: number; inclusive?: boolean };
const checksOf = (d: Def): Check[] => ((d.checks as { _zod: { def: Check } }[] | undefined) ?? []).map((c) => c._zod.def);

/** A string matching a simple `^[class]{m,n}$` pattern, or undefined when the pattern is not that simple. */
function fromPattern(pattern: RegExp, rnd: () => number): string | undefined {
  const m = /^\^\[([^\]]+)\]\{(\d+)(?:,(\d+))?\}\$$/.exec(pattern.source);
  if (!m) return undefined;
  const chars: string[] = [];
  for (const r of m[1]!.matchAll(/(.)-(.)|(.)/g)) {
    if (r[3] !== undefined) chars.push(r[3]);
    else for (let c = r[1]!.charCodeAt(0); c <= r[2]!.charCodeAt(0); c++) chars.push(String.fromCharCode(c));
  }
  const lo = Number(m[2]);
  const hi = m[3] === undefined ? lo : Number(m[3]);
  const n = lo + Math.floor(rnd() * (hi - lo + 1));
  return Array.from({ length: n }, () => chars[Math.floor(rnd() * chars.length)]!).join("");
}

/**
 * Walks a zod schema and builds a value of its shape, with values taken from the hostile pools above (and from
 * the schema's own bounds and patterns). The value may or may not pass the schema: callers sort them with
 * `safeParse`. Arrays are kept short.
 */
export function generate(schema: unknown, rnd: () => number, depth = 0): unknown {
  const d = defOf(schema);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  switch (d.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.shape as Record<string, unknown>)) {
        if (defOf(v).type === "optional" && rnd() < 0.4) continue;
        out[k] = generate(v, rnd, depth + 1);
      }
      return out;
    }
    case "literal":
      return (d.values as unknown[])[0];
    case "enum":
      return pick(Object.values(d.entries as Record<string, unknown>));
    case "boolean":
      return rnd() < 0.5;
    case "string": {
      const regex = checksOf(d).find((c) => c.format === "regex")?.pattern;
      if (regex && rnd() < 0.85) return fromPattern(regex, rnd) ?? pick(HOSTILE_STRINGS);
      return pick(HOSTILE_STRINGS);
    }
    case "number": {
      const checks = checksOf(d);
      const lo = checks.find((c) => c.check === "greater_than")?.value;
      const hi = checks.find((c) => c.check === "less_than")?.value;
      const edges = [lo, hi].filter((x): x is number => x !== undefined);
      return rnd() < 0.3 && edges.length > 0 ? pick(edges) : pick(HOSTILE_NUMBERS);
    }
    case "array": {
      const checks = checksOf(d);
      const min = checks.find((c) => c.check === "min_length")?.minimum ?? 0;
      const n = depth > 4 ? min : min + Math.floor(rnd() * 3);
      return Array.from({ length: n }, () => generate(d.element, rnd, depth + 1));
    }
    case "optional":
      return generate(d.innerType, rnd, depth + 1);
    case "nullable":
      return rnd() < 0.4 ? null : generate(d.innerType, rnd, depth + 1);
    case "union":
      return generate(pick(d.options as unknown[]), rnd, depth + 1);
    default:
      throw new Error(`the fuzzer does not know zod type ${d.type}`);
  }
}

/** A message of one of the union's shapes that the schema accepts, if one turns up within a few tries. */
export function generateValid(union: z.ZodType, rnd: () => number): Record<string, unknown> | undefined {
  for (let i = 0; i < 40; i++) {
    const v = generate(union, rnd);
    if (union.safeParse(v).success) return v as Record<string, unknown>;
  }
  return undefined;
}

/** A valid-looking message broken in one way: a key dropped, one added, a value of the wrong type. */
export function mutate(msg: Record<string, unknown>, rnd: () => number): unknown {
  const keys = Object.keys(msg);
  const k = keys[Math.floor(rnd() * keys.length)]!;
  switch (Math.floor(rnd() * 6)) {
    case 0: {
      const { [k]: _dropped, ...rest } = msg;
      return rest;
    }
    case 1:
      return { ...msg, extra: "x" };
    case 2:
      return { ...msg, [k]: [msg[k]] };
    case 3:
      return { ...msg, [k]: { nested: msg[k] } };
    case 4:
      return [msg];
    default:
      return { ...msg, [k]: typeof msg[k] === "number" ? String(msg[k]) : 1 };
  }
}

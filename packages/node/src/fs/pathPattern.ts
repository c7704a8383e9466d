import ignore from "ignore";

/**
 * A test of relative paths against one gitignore-style pattern (the syntax of `.zyncignore`): `package-lock.json`
 * matches that name in any folder, `src/**\/*.proto` is anchored at the root because it holds a slash, `build/`
 * matches everything below a folder of that name, and a leading `!` is not allowed (one pattern, no negation).
 * A pattern that cannot be used gives the reason instead.
 */
export function pathPattern(pattern: string): { matches(rel: string): boolean } | { problem: string } {
  const p = pattern.trim();
  if (p === "") return { problem: "is empty" };
  if (p.startsWith("!")) return { problem: "starts with '!' (a negation needs other patterns to negate)" };
  if (p.startsWith("#")) return { problem: "starts with '#' (gitignore reads it as a comment)" };
  const ig = ignore().add(p);
  return { matches: (rel) => rel !== "" && ig.ignores(rel) };
}

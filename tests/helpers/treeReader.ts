/**
 * A reader on R, run as its own process (`node treeReader.js ROOT EXPECTED.json`): it reads the whole tree under
 * ROOT again and again, as a build tool would, and prints one JSON line per reading: when it began and ended (ms
 * since the epoch) and what it saw: `old` (exactly the files and contents of EXPECTED's `old`), `new` (exactly
 * those of `new`), or `mixed` (anything else: some files of each, or a file gone while it was read). zync's temp
 * folder is left out, as every tool on R would leave it out. It stops when its stdin closes.
 */
import { readdirSync, readFileSync } from "node:fs";

const [root, expectedFile] = process.argv.slice(2);
if (root === undefined || expectedFile === undefined) throw new Error("usage: treeReader ROOT EXPECTED.json");
const expected = JSON.parse(readFileSync(expectedFile, "utf8")) as { old: Record<string, string>; new: Record<string, string> };

function readTree(rel: string, out: Map<string, string>): void {
  const abs = rel === "" ? root! : `${root!}/${rel}`;
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    const r = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (r === ".zync-tmp") continue;
    if (entry.isDirectory()) readTree(r, out);
    else out.set(r, readFileSync(`${root!}/${r}`, "utf8"));
  }
}

function same(tree: Map<string, string>, want: Record<string, string>): boolean {
  const keys = Object.keys(want);
  return tree.size === keys.length && keys.every((k) => tree.get(k) === want[k]);
}

let stopped = false;
process.stdin.on("end", () => (stopped = true));
process.stdin.on("close", () => (stopped = true));
process.stdin.resume();

while (!stopped) {
  const s = Date.now();
  let kind: "old" | "new" | "mixed" = "mixed";
  try {
    const tree = new Map<string, string>();
    readTree("", tree);
    kind = same(tree, expected.old) ? "old" : same(tree, expected.new) ? "new" : "mixed";
  } catch {
    // A file or folder vanished under the reader: what it saw was no one tree.
  }
  process.stdout.write(`${JSON.stringify({ s, e: Date.now(), kind })}\n`);
  await new Promise((r) => setImmediate(r));
}

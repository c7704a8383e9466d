// A reproducible, dev-like tree: nested folders of small source files plus a few large binaries.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../tests/dist/helpers/seededRandom.js";

/** The tests' seeded generator (mulberry32), so every run generates the same tree. */
export const prng = seededRandom;

const WORDS = ["const", "let", "return", "function", "import", "export", "value", "index", "result", "config", "items", "map", "filter", "await", "async", "if", "else", "for", "while", "class", "this", "new", "null", "true", "false", "string", "number"];

function sourceText(rand, bytes) {
  const lines = [];
  let size = 0;
  while (size < bytes) {
    const n = 3 + Math.floor(rand() * 9);
    const words = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
    const line = `${"  ".repeat(Math.floor(rand() * 4))}${words.join(" ")};`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join("\n")}\n`;
}

/** Folder paths for `count` files: up to four levels deep, about 20 files a folder. */
function folders(rand, count) {
  const dirs = [];
  const n = Math.max(1, Math.ceil(count / 20));
  for (let i = 0; i < n; i++) {
    const depth = 1 + Math.floor(rand() * 4);
    const parts = [];
    for (let d = 0; d < depth; d++) parts.push(`d${d}_${Math.floor(rand() * 12)}`);
    dirs.push(parts.join("/"));
  }
  return dirs;
}

/**
 * Writes `files` source files (sizes 1 to 7 KiB, about 4 KiB on average) and `binaries` binary files of
 * `binaryBytes` each under `root`. Returns the relative paths of the source files.
 */
export function generateTree(root, { files = 10_000, binaries = 20, binaryBytes = 5 * 1024 * 1024, seed = 42, minBytes = 1024, maxBytes = 7 * 1024 } = {}) {
  const rand = prng(seed);
  const dirs = folders(rand, files);
  const paths = [];
  for (let i = 0; i < files; i++) {
    const rel = `${dirs[i % dirs.length]}/file_${i}.ts`;
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), sourceText(rand, minBytes + Math.floor(rand() * (maxBytes - minBytes))));
    paths.push(rel);
  }
  mkdirSync(join(root, "assets"), { recursive: true });
  for (let i = 0; i < binaries; i++) writeFileSync(join(root, "assets", `blob_${i}.bin`), binaryBytes > 0 ? randomBytes(rand, binaryBytes) : Buffer.alloc(0));
  return paths;
}

/** Pseudo-random bytes from the seeded generator (fast: 4 bytes per draw). */
export function randomBytes(rand, n) {
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i + 4 <= n; i += 4) buf.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  for (let i = n - (n % 4); i < n; i++) buf[i] = Math.floor(rand() * 256);
  return buf;
}

/** Appends a line to `count` of `paths` (chosen with the seed), as an editor save would. */
export function editFiles(root, paths, count, seed) {
  const rand = prng(seed);
  const chosen = new Set();
  while (chosen.size < Math.min(count, paths.length)) chosen.add(paths[Math.floor(rand() * paths.length)]);
  for (const rel of chosen) writeFileSync(join(root, rel), `${sourceText(rand, 2000)}// edit ${seed}\n`);
  return [...chosen];
}

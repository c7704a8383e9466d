// Makes the one installable package: `npm run package` builds, lays out the three bundled bins with a package.json
// of their own (better-sqlite3, the native SQLite module, is the only dependency) and packs them into
// zync-<version>.tgz, which installs with `npm install -g ./zync-<version>.tgz`. The workspace's own package.json
// is not packed: it carries the dev setup (workspaces, build scripts), none of which an installed zync needs.
//
//   node scripts/package.js [--out DIR] [--no-build]
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const BINS = [
  ["daemon", "zync-daemon"],
  ["client", "zync-client"],
  ["apply", "zync-apply"],
];

const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const outDir = resolve(outAt >= 0 && args[outAt + 1] ? args[outAt + 1] : repo);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

if (!args.includes("--no-build")) {
  execFileSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-b"], { cwd: repo, stdio: "inherit" });
  execFileSync(process.execPath, [join(repo, "scripts/bundle.js")], { cwd: repo, stdio: "inherit" });
}

const root = readJson(join(repo, "package.json"));
// The exact better-sqlite3 the bundles were built and tested against, so every box gets the same one.
const sqlite = readJson(join(repo, "node_modules/better-sqlite3/package.json")).version;

const stage = mkdtempSync(join(tmpdir(), "zync-package-"));
try {
  for (const [pkg, name] of BINS) {
    mkdirSync(join(stage, "packages", pkg, "bin"), { recursive: true });
    mkdirSync(join(stage, "packages", pkg, "dist"), { recursive: true });
    cpSync(join(repo, "packages", pkg, "bin", `${name}.js`), join(stage, "packages", pkg, "bin", `${name}.js`));
    cpSync(join(repo, "packages", pkg, "dist", `${name}.mjs`), join(stage, "packages", pkg, "dist", `${name}.mjs`));
  }
  mkdirSync(join(stage, "scripts"));
  cpSync(join(repo, "scripts/launch.js"), join(stage, "scripts/launch.js"));
  cpSync(join(repo, "README.md"), join(stage, "README.md"));
  cpSync(join(repo, "docs"), join(stage, "docs"), { recursive: true });
  const manifest = {
    name: root.name,
    version: root.version,
    description: root.description,
    type: "module",
    license: root.license,
    engines: root.engines,
    bin: Object.fromEntries(BINS.map(([pkg, name]) => [name, `packages/${pkg}/bin/${name}.js`])),
    dependencies: { "better-sqlite3": sqlite },
  };
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  mkdirSync(outDir, { recursive: true });
  const packed = JSON.parse(execFileSync(npm, ["pack", "--json", "--pack-destination", outDir], { cwd: stage, encoding: "utf8" }));
  process.stdout.write(`${join(outDir, packed[0].filename)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

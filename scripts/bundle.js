// Bundles each command into one file. A `--once` run pays for every module it loads, and loading a few hundred
// small ESM files costs more than the work; one bundle per bin loads several times faster. Native addons
// (better-sqlite3, bufferutil) stay outside.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bins = ["daemon/zync-daemon", "client/zync-client", "apply/zync-apply"];

await Promise.all(
  bins.map((bin) => {
    const [pkg, name] = bin.split("/");
    return build({
      entryPoints: [`${repo}packages/${pkg}/dist/cli.js`],
      outfile: `${repo}packages/${pkg}/dist/${name}.mjs`,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["better-sqlite3", "bufferutil", "utf-8-validate", "fsevents"],
      // Some bundled CommonJS modules call require() for Node's own modules.
      banner: { js: "import { createRequire as __zyncRequire } from 'node:module'; const require = __zyncRequire(import.meta.url);" },
      minify: true,
      keepNames: true,
      sourcemap: "linked",
      logLevel: "warning",
    });
  }),
);

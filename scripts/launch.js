// Shared by the bins: load the bundled CLI (or the plain compiled one), or say plainly that the build is missing.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export async function launch(name, distUrl) {
  const bundle = new URL(`${name}.mjs`, distUrl);
  const plain = new URL("cli.js", distUrl);
  const target = existsSync(fileURLToPath(bundle)) ? bundle : existsSync(fileURLToPath(plain)) ? plain : undefined;
  if (target === undefined) {
    process.stderr.write(`${name}: zync is not built yet; run 'npm install' (or 'npm run build') in the zync folder\n`);
    process.exit(1);
  }
  await import(target.href);
}

// Shared by the bins: load the compiled CLI, or say plainly that the build is missing.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export async function launch(name, cliUrl) {
  if (!existsSync(fileURLToPath(cliUrl))) {
    process.stderr.write(`${name}: zync is not built yet; run 'npm install' (or 'npm run build') in the zync folder\n`);
    process.exit(1);
  }
  await import(cliUrl.href);
}

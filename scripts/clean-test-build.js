// Removes compiled tests so a deleted or renamed test never runs from a stale build.
import { rmSync } from "node:fs";

rmSync(new URL("../tests/dist", import.meta.url), { recursive: true, force: true });
rmSync(new URL("../tests/tsconfig.tsbuildinfo", import.meta.url), { force: true });

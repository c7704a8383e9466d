#!/usr/bin/env node
import { launch } from "../../../scripts/launch.js";

await launch("zync-client", new URL("../dist/", import.meta.url));

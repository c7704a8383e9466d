#!/usr/bin/env node
import { launch } from "../../../scripts/launch.js";

await launch("zync-daemon", new URL("../dist/", import.meta.url));

#!/usr/bin/env node
import { launch } from "../../../scripts/launch.js";

await launch("zync-apply", new URL("../dist/", import.meta.url));

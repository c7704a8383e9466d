import { ExitCode, ExitError, runCli } from "@zync/node";

// Upstream review (R → E) is not built yet; say so plainly instead of pretending.
runCli("zync-apply", () => Promise.reject(new ExitError(ExitCode.Failure, "not yet available: reviewing changes pushed from R arrives with upstream sessions")));

export { applySession, type ApplyOptions, type ApplyIO } from "./commands/applySession.js";
export { listSessions, sessionRows, type SessionRow } from "./commands/listSessions.js";
export { showSession } from "./commands/showSession.js";
export { rejectSession } from "./commands/rejectSession.js";
export { openReview, type ReviewContext } from "./reviewContext.js";
export { inquirerPrompter, PromptCancelled, type Prompter, type Choice } from "./prompter.js";
export { createPaint, type Paint } from "./render/colors.js";
export { applyOrder, resumeInterrupted } from "./commands/sessionLookup.js";
export { mergeThreeWay, looksBinary, pickSides, type MergeOutcome, type MergeRegion } from "@zync/node";

// Everything the bench takes from the Fragmentation Lab, in one place: when the
// lab's entry becomes `dmasim/lab`, only these imports change.
import type { REPLAY_COUNTERS } from "dmasim/lab";

export { formatTraceLine } from "dmasim/lab";
export type { TraceEvent } from "dmasim/lab";
export { DEFAULT_REPLAY_SYSTEM, replayTrace } from "dmasim/lab";
export type { LabResult } from "dmasim/lab";
/** The names of a replay's counters (LabResult.replay). */
export type ReplayCounter = (typeof REPLAY_COUNTERS)[number];

/** The twin (issue #16): replays a real kernel's capture on a machine laid out like it and scores fidelity. */
export { runTwin } from "./twin.ts";
export type {
  TwinOptions,
  TwinMode,
  TwinResult,
  FollowResult,
  FollowMiss,
  FreeRunResult,
  Agreement,
  PhaseCheck,
} from "./twin.ts";
export { readCapture, readFreePfns, readLruFolios } from "./capture.ts";
export type { Capture, CaptureSnapshot, CaptureZone, CaptureCmaArea, Pagetypeinfo } from "./capture.ts";
export type { LoadReport } from "./machine.ts";

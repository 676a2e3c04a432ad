/** The twin (issue #16): replays a real kernel's capture on a machine laid out like it and scores fidelity. */
export { runTwin, TIMELINE_WINDOW } from "./twin.ts";
export { writeTwinReport, twinReportHtml } from "./report.ts";
export type {
  TwinOptions,
  TwinMode,
  TwinResult,
  FollowResult,
  FollowMiss,
  FreeRunResult,
  Agreement,
  PhaseCheck,
  TimelinePoint,
  TraceMarker,
  Explanation,
  ExplanationCause,
} from "./twin.ts";
export { readCapture, readFreePfns, readLruFolios } from "./capture.ts";
export type { Capture, CaptureSnapshot, CaptureZone, CaptureCmaArea, Pagetypeinfo } from "./capture.ts";
export type { LoadReport } from "./machine.ts";

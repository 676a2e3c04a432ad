/**
 * A progress bar on stderr (cli-progress) that shows up only where it helps:
 * stderr is a terminal, the caller did not ask for quiet output (--json), and
 * the work has already taken a second, so short runs print nothing.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** Reports `done` of `total` units. */
  update(done: number, total: number): void;
  /** Removes the bar, if one was shown. */
  stop(): void;
}

/** Milliseconds of work before a bar appears. */
const SHOW_AFTER_MS = 1000;

/** A bar labelled `label`, counting `unit`; a no-op when `enabled` is false or stderr is not a TTY. */
export function createProgress(label: string, unit: string, enabled: boolean): Progress {
  const startedAt = Date.now();
  let bar: cliProgress.SingleBar | null = null;
  const active = enabled && process.stderr.isTTY === true;
  return {
    update(done, total) {
      if (!active) return;
      if (bar === null) {
        if (Date.now() - startedAt < SHOW_AFTER_MS) return;
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
            formatValue: (v: number, _o: unknown, type: string) =>
              type === "value" || type === "total" ? v.toLocaleString("en-US") : String(v),
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
        return;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

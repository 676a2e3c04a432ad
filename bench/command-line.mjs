// Shared command-line handling of the bench scripts.
import { parseArgs } from "node:util";

/**
 * node:util parseArgs with the bench scripts' conventions: a parse error prints
 * the message and exits through `usage(2)`; `--help`/`-h` exits through `usage(0)`.
 * `config.options` need not declare `help`.
 */
export function parseArgsOrUsage(config, usage) {
  let parsed;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    console.error(e.message);
    usage(2);
  }
  if (parsed.values.help) usage(0);
  return parsed;
}

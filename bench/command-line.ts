// Shared command-line handling of the bench scripts.
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * node:util parseArgs with the bench scripts' conventions: a parse error prints
 * the message and exits through `usage(2)`; `--help`/`-h` exits through `usage(0)`.
 * `config.options` need not declare `help`.
 */
export function parseArgsOrUsage<T extends ParseArgsConfig>(
  config: T,
  usage: (code: number) => never,
): ReturnType<typeof parseArgs<T>> {
  let parsed;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    console.error((e as Error).message);
    usage(2);
  }
  if ((parsed.values as { help?: boolean }).help) usage(0);
  return parsed as ReturnType<typeof parseArgs<T>>;
}

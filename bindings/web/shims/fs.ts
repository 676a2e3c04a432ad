/**
 * node:fs in the browser Lab's bundle (scripts/build-web.mjs maps it here): the
 * Lab reads files only for file inputs the page never uses, and its own
 * package.json for the version, which the build writes into the bundle.
 */
declare const __DMASIM_PACKAGE_JSON__: string;

export function readFileSync(path: string | URL): string {
  if (String(path).endsWith("/package.json")) return __DMASIM_PACKAGE_JSON__;
  const error = new Error(`${String(path)}: no files in the browser`) as Error & { code: string };
  error.code = "ENOENT";
  throw error;
}

/** node:path in the browser Lab's bundle: the one function the Lab's scenario loader imports. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

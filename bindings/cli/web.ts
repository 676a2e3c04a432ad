/**
 * `dmasim web`: serves the browser Lab (dist/web/, built by `npm run build:web`)
 * on a local port. Static files only, from that directory; nothing else is
 * reachable through the server.
 */
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DmaSimError } from "../core/errors.ts";

/** dist/web/, beside dist/bindings/ (this file is dist/bindings/cli/web.js). */
export const WEB_ROOT = fileURLToPath(new URL("../../web/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The file under `root` a request path names, or null when it would leave `root`. */
export function webFile(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]!);
  } catch {
    return null;
  }
  const rel = normalize(decoded === "/" ? "/index.html" : decoded).replace(/^([/\\])+/, "");
  const file = join(root, rel);
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

/** Starts the server on `port` (0: any free one) of `host`; resolves once it listens. */
export async function serveWeb(port: number, host = "127.0.0.1", root = WEB_ROOT): Promise<Server> {
  if (!existsSync(join(root, "index.html")))
    throw new DmaSimError("ENOENT", `the browser Lab is not built (${root}): run npm run build:web`);
  const server = createServer((req, res) => {
    const file = req.method === "GET" || req.method === "HEAD" ? webFile(root, req.url ?? "/") : null;
    if (file === null) {
      res.writeHead(req.method === "GET" || req.method === "HEAD" ? 403 : 405).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          "content-type": TYPES[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-cache",
        });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new DmaSimError(e.code === "EADDRINUSE" ? "EBUSY" : "EINVAL", `web: ${host}:${port}: ${e.message}`)),
    );
    server.listen(port, host, resolve);
  });
  return server;
}

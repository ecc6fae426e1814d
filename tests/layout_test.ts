// Layout rules of the compiler, kernels and backends: they branch on OpDef fields, never on the
// names of elementwise primitives (at most one file may name them: the WGSL math library, keyed
// by its own function names, needs none today), and their runtime imports form no cycle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import process from "node:process";
import { OPS } from "../lib/ops/registry.ts";
import type { OpDef } from "../lib/ops/_define.ts";

/** The repository root (every runner starts the tests there). */
const root = process.cwd();
const FOLDERS = ["lib/compile", "lib/backend", "kernels"];

/** Non-test .ts files under a folder (paths relative to the repository). */
async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(`${root}/${dir}`, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts"))
    .map((e) => `${e.parentPath ?? (e as { path?: string }).path}/${e.name}`)
    .map((p) => p.slice(root.length + 1));
}

/** Source without comments and without Wasm's own `select` instruction (`.op("select")`). */
function code(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/\/\/ .*$/gm, "")
    .replace(/\.op\("select"\)|"select": 0x1b/g, "");
}

// NOTE: max and min also name the kernel IR's reduction monoids (ReduceSpec.op) and the window
// choosers, so they are not scanned.
const MONOIDS = new Set(["sum", "max", "min"]);

test("compiler, kernels and backends do not name elementwise primitives", async () => {
  const names = (Object.values(OPS) as OpDef[])
    .filter((op) => op.kind === "elementwise" && !MONOIDS.has(op.name))
    .map((op) => op.name);
  const quoted = new RegExp(`["'\`](${names.join("|")})["'\`]`, "g");
  const offenders: string[] = [];
  let scanned = 0;
  for (const dir of FOLDERS) {
    for (const file of await sources(dir)) {
      scanned++;
      const hits = code(await readFile(`${root}/${file}`, "utf8")).match(quoted);
      if (hits) offenders.push(`${file}: ${[...new Set(hits)].join(" ")}`);
    }
  }
  assert.ok(offenders.length <= 1, `files naming elementwise primitives:\n${offenders.join("\n")}`);
  assert.deepEqual(offenders, []);
  assert.ok(scanned > 40, `only ${scanned} files scanned`);
});

/** The runtime (not type-only) relative imports of a source file, as repository paths. */
function runtimeImports(file: string, src: string): string[] {
  const dir = file.slice(0, file.lastIndexOf("/"));
  const out: string[] = [];
  for (const m of code(src).matchAll(/^(import|export)\s+([^;]*?)\s+from\s+"(\.[^"]+)"/gms)) {
    const what = m[2];
    if (what.startsWith("type ")) continue;
    const braces = /^\{([^}]*)\}$/.exec(what.trim());
    if (braces && braces[1].split(",").every((n) => !n.trim() || n.trim().startsWith("type "))) {
      continue;
    }
    const parts = `${dir}/${m[3]}`.split("/");
    const path: string[] = [];
    for (const p of parts) p === ".." ? path.pop() : p !== "." && path.push(p);
    out.push(path.join("/"));
  }
  return out;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next), low.set(v, next++), stack.push(v), onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do onStack.delete(w = stack.pop()!), scc.push(w); while (w !== v);
    if (scc.length > 1) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test("compiler, kernels and backends are in no import cycle", async () => {
  const graph = new Map<string, string[]>();
  for (const dir of ["lib", "kernels"]) {
    for (const file of await sources(dir)) {
      graph.set(file, runtimeImports(file, await readFile(`${root}/${file}`, "utf8")));
    }
  }
  const mine = cycles(graph).filter((c) => c.some((f) => FOLDERS.some((d) => f.startsWith(d))));
  assert.deepEqual(mine, []);
});

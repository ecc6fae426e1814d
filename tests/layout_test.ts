// Layout rules of the compiler, kernels and backends: they branch on OpDef fields, never on the
// names of elementwise primitives (at most one file may name them: the WGSL math library, keyed
// by its own function names, needs none today). Import cycles: tests/imports_test.ts.
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

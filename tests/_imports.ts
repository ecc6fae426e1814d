/**
 * The static import graph of the library's sources (read with node:fs, comments stripped), for
 * the layering tests: which file imports which, and whether an import is type-only.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** One static import or re-export of a source file. */
export interface ImportEdge {
  /** Importing file, relative to the repository root with "/" separators. */
  from: string;
  /** Imported file, relative to the repository root. */
  to: string;
  /** True when TypeScript erases it (`import type`, or every named specifier is `type`). */
  typeOnly: boolean;
}

/** The repository root: the nearest ancestor of this file (or of Node's bundle) with mod.ts. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "mod.ts")) && existsSync(join(dir, "lib"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Every non-test .ts file under `dirs` (relative to the root), sorted. */
export function sourceFiles(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(d);
  return out.sort();
}

const IMPORT = /\b(import|export)\s+(type\s+)?(?:([^"';]*?)\bfrom\s*)?["'](\.{1,2}\/[^"']+)["']/g;

/** Static relative imports of one file (dynamic `import()` is not an edge). */
export function importsOf(root: string, file: string): ImportEdge[] {
  const text = readFileSync(join(root, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'])\/\/.*$/gm, "$1");
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const [, , typeKw, clause = "", spec] = m;
    const names = /\{([^}]*)\}/.exec(clause);
    const allTypes = names !== null && !/^\s*[\w$]+\s*,/.test(clause) &&
      names[1].split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "));
    const to = normalize(join(dirname(file), spec)).split("\\").join("/");
    edges.push({ from: file, to, typeOnly: !!typeKw || allTypes });
  }
  return edges;
}

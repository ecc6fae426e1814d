/**
 * The examples and the docs as tests. Runs each example's `main()` (small sizes, quiet), then
 * every ```ts block of the docs/ pages as a module (bundled with esbuild on Node), checking each
 * `console.log(...); // → expected` line against what it prints.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";
import { decode as decodePng } from "fast-png";
import { main as perExampleGrads } from "../examples/per_example_grads.ts";
import { main as hvpConv } from "../examples/hvp_conv.ts";
import { main as nhwcGradcheck } from "../examples/nhwc_gradcheck.ts";
import { main as sequenceScan } from "../examples/sequence_scan.ts";
import { main as demo } from "../examples/demo.ts";

const quiet = (): void => {};

describe("examples", () => {
  test("per_example_grads: vmap(grad) equals a loop of grad, clipping bounds every norm", () => {
    const r = perExampleGrads({ batch: 4, size: 6, log: quiet });
    assert.ok(r.loopError < 1e-5 && r.meanError < 1e-5);
    assert.equal(r.norms.length, 4);
    assert.ok(r.clippedNorms.every((n, i) => n <= r.norms[i] + 1e-6));
  });

  test("hvp_conv: jvp(grad(f)) equals finite differences, reverse-over-reverse and hessian(f) v", () => {
    const r = hvpConv({ size: 6, log: quiet });
    assert.ok(r.fdError < 1e-7 && r.rorError < 1e-10 && r.hessianError < 1e-10);
  });

  test("nhwc_gradcheck: grad and the hand formula match finite differences for every element", () => {
    const r = nhwcGradcheck({ log: quiet });
    assert.equal(r.imageElements, 2 * 10 * 11 * 5);
    assert.equal(r.filterElements, 2 * 3 * 5 * 4);
    assert.ok(r.gradError < 1e-7 && r.handError < 1e-7);
  });

  test("demo (small): layers + batch norm + chain(clip, adamw) learn the digits; io.save/load and the ONNX export (onnxruntime-node) give the same accuracy; vega-lite and fast-png draw its pictures", async () => {
    const log = console.log;
    console.log = quiet;
    const outDir = mkdtempSync(join(tmpdir(), "tg-demo-out-"));
    try {
      const r = await demo({
        nTrain: 1024,
        nTest: 500,
        epochs: 1,
        minAccuracy: 0.75,
        outDir,
      });
      assert.ok(r.accuracy >= 0.75, JSON.stringify(r));
      assert.equal(r.reloadedAccuracy, r.accuracy);
      assert.ok(
        Number.isNaN(r.onnxAccuracy) || Math.abs(r.onnxAccuracy - r.accuracy) <= 1 / 500,
        JSON.stringify(r),
      );
      assert.ok(Number.isNaN(r.onnxMaxDiff) || r.onnxMaxDiff < 1e-3, JSON.stringify(r));
      // the pictures: an SVG chart with both panels and the legend, a PNG of 2 rows of 10 digits
      const svg = readFileSync(join(outDir, "mnist_curves.svg"), "utf8");
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      for (const text of ["Loss", "Accuracy", "held-out", "train (EMA)", "epoch"]) {
        assert.ok(svg.includes(`>${text}</text>`), `the chart shows "${text}"`);
      }
      assert.ok((svg.match(/<path /g) ?? []).length >= 6, "the chart has its curves");
      const png = decodePng(readFileSync(join(outDir, "mnist_edges.png")));
      assert.deepEqual([png.width, png.height, png.channels, png.depth], [1208, 248, 1, 8]);
      const ink = Array.from(png.data).filter((v) => v < 128).length;
      assert.ok(ink > 0.02 * png.data.length && ink < 0.5 * png.data.length, `ink ${ink}`);
    } finally {
      console.log = log;
    }
  });

  test("sequence_scan: an RNN through lax.scan learns a delayed copy (jitted valueAndGrad through the scan)", () => {
    const r = sequenceScan({ steps: 150, log: quiet });
    assert.ok(r.finalLoss < 0.1 * r.baseline && r.finalLoss < r.initialLoss, JSON.stringify(r));
  });
});

// ---- docs: every ```ts block runs, and its `// → ` comments match the output ----

const IS_NODE = !("Deno" in globalThis) && !("Bun" in globalThis);
const DOC_PAGES = [
  "README.md",
  "docs/coming_from_jax.md",
  "docs/coming_from_autograd_mygrad.md",
  "docs/control_flow.md",
];
const PACKAGE = "jsr:@tracegrad/tracegrad";
const EXPECT_HOOK = "__tracegradDocExpect";

/** The repository root: the nearest ancestor of this file (or of Node's bundle of it, under
 * .build/) that holds mod.ts and docs/; else the working directory. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "mod.ts")) && existsSync(join(dir, "docs"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Formats console.log arguments the way the docs show them: arrays as `[1, 2]`. */
function show(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return `${v.constructor.name} [${Array.from(v as unknown as ArrayLike<number>).join(", ")}]`;
  }
  return String(v);
}

interface Snippet {
  line: number;
  code: string;
}

function snippets(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    while (++i < lines.length && lines[i].trim() !== "```");
    out.push({ line: start, code: lines.slice(start, i).join("\n") });
  }
  return out;
}

const CHECK_END = /\);\s*\/\/ → (.*)$/;

/** Net count of "(" minus ")" on a line (good enough for the docs' snippets). */
function depth(line: string): number {
  return [...line].reduce((d, c) => d + (c === "(" ? 1 : c === ")" ? -1 : 0), 0);
}

/**
 * Rewrites a snippet to import the local mod.ts and to check its `// → ` lines: a statement
 * `console.log(args); // → expected` (possibly over several lines, as deno fmt wraps it) becomes
 * a call of the checking hook. Returns the source and the number of checked statements.
 */
function instrument(code: string, modPath: string): { source: string; checks: number } {
  const lines = code.split("\n");
  const out: string[] = [];
  let checks = 0;
  for (let i = 0; i < lines.length; i++) {
    const start = /^(\s*)console\.log\(/.exec(lines[i]);
    if (!start) {
      out.push(lines[i]);
      continue;
    }
    let j = i, d = depth(lines[i]);
    while (d > 0 && j + 1 < lines.length) d += depth(lines[++j]);
    const end = CHECK_END.exec(lines[j]);
    if (!end) {
      out.push(...lines.slice(i, j + 1));
    } else {
      const text = lines.slice(i, j + 1).join("\n");
      const args = text.slice(start[0].length, text.lastIndexOf(");", text.indexOf("// → ")));
      out.push(`${start[1]}${EXPECT_HOOK}(${JSON.stringify(end[1].trim())}, ${args});`);
      checks++;
    }
    i = j;
  }
  const body = localImports(out.join("\n"), modPath);
  return {
    source: `// @ts-nocheck\nconst ${EXPECT_HOOK} = (globalThis as any).${EXPECT_HOOK};\n${body}`,
    checks,
  };
}

/** Points the package name (docs) and the root's `./mod.ts` (README) at `modPath`. */
function localImports(code: string, modPath: string): string {
  return code.replaceAll(`"${PACKAGE}"`, JSON.stringify(modPath))
    .replaceAll(`from "./mod.ts"`, `from ${JSON.stringify(modPath)}`);
}

interface SnippetFile {
  page: string;
  line: number;
  file: string;
  /** Number of checked `console.log` statements, all of which must run. */
  checks: number;
  /** Number of `// → ` comments (each must belong to a checked statement). */
  arrows: number;
}

/**
 * Writes every snippet of the pages to .build/doc-snippets/ (relative imports of mod.ts), and
 * each one unchanged but for that import to .build/doc-types/ for the type check.
 */
function writeSnippets(root: string): SnippetFile[] {
  const outDir = join(root, ".build", "doc-snippets");
  const typeDir = join(root, ".build", "doc-types");
  mkdirSync(outDir, { recursive: true });
  mkdirSync(typeDir, { recursive: true });
  return DOC_PAGES.filter((page) => existsSync(join(root, page))).flatMap((page) =>
    snippets(readFileSync(join(root, page), "utf8")).map((s, k) => {
      const name = `${page.replace(/\W/g, "_")}_${k}.ts`;
      const file = join(outDir, name);
      const { source, checks } = instrument(s.code, "../../mod.ts");
      writeFileSync(file, source);
      const typed = localImports(s.code, "../../mod.ts");
      writeFileSync(join(typeDir, name), `// ${page}:${s.line}\n${typed}\n`);
      const arrows = s.code.split("// → ").length - 1;
      return { page, line: s.line, file, checks, arrows };
    })
  );
}

let nodeBuild: Promise<Map<string, string>> | undefined;

/** Node cannot import TypeScript: bundle all snippets once (shared chunks), map .ts -> .mjs. */
function bundleForNode(root: string, files: string[]): Promise<Map<string, string>> {
  return nodeBuild ??= (async () => {
    // esbuild comes from the repository's node_modules at run time (it is not bundled)
    const esbuildPath = createRequire(join(root, "package.json")).resolve("esbuild");
    const esbuild = await import(pathToFileURL(esbuildPath).href);
    const outdir = join(dirname(files[0]), "node");
    await esbuild.build({
      entryPoints: files,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outdir,
      outExtension: { ".js": ".mjs" },
      logLevel: "silent",
    });
    return new Map(files.map((f) => [f, join(outdir, basename(f).replace(/\.ts$/, ".mjs"))]));
  })();
}

async function importSnippet(root: string, file: string, all: string[]): Promise<void> {
  const target = IS_NODE ? (await bundleForNode(root, all)).get(file)! : file;
  await import(pathToFileURL(target).href);
}

describe("docs snippets", () => {
  const root = repoRoot();
  const files = writeSnippets(root);
  const all = files.map((f) => f.file);
  for (const { page, line, file, checks, arrows } of files) {
    test(`${page}:${line}`, async () => {
      assert.equal(
        checks,
        arrows,
        `${page}, snippet at line ${line}: a // → comment not after a console.log(...); statement`,
      );
      const g = globalThis as Record<string, unknown>;
      let ran = 0;
      g[EXPECT_HOOK] = (expected: string, ...args: unknown[]) => {
        ran++;
        const got = args.map(show).join(" ");
        assert.equal(got, expected, `${page}, snippet at line ${line}: printed value`);
      };
      const log = console.log;
      console.log = () => {}; // snippets print; keep the test output readable
      try {
        await importSnippet(root, file, all);
      } finally {
        console.log = log;
        delete g[EXPECT_HOOK];
      }
      assert.equal(ran, checks, `${page}, snippet at line ${line}: checked lines that ran`);
    });
  }
});

// ---- docs: every ```ts block passes `deno check` (strict) as written ----

describe("docs type-check", () => {
  const root = repoRoot();
  const files = writeSnippets(root).map((f) => join(root, ".build", "doc-types", basename(f.file)));
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  // Deno is the type checker here (Bun and Node run the snippets above, not a checker).
  test("README quickstart and every docs snippet type-check in strict mode", {
    skip: deno ? false : "needs Deno's type checker",
  }, async () => {
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(deno!.execPath(), ["check", "--no-config", "--quiet", ...files], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(r.status, 0, `deno check of the docs snippets failed:\n${r.stdout}${r.stderr}`);
  });
});

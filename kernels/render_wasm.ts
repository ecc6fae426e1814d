/**
 * Renders a kernel (lib/compile/kernel.ts) to WebAssembly with render_js.ts's results bit for bit
 * (analysis and expression code in wasm/kernel_gen.ts): the loop nest, a reduction computing
 * `LANES` outputs together, and an `(ins, out) => void` wrapper that copies through its memory.
 * @module
 */
import { hasDtypesOnly, type Kernel } from "../lib/compile/kernel.ts";
import { typedCtor } from "../lib/dtype.ts";
import { ModuleBuilder } from "./wasm/encoder.ts";
import { analyse, ELEM, Gen, isF, sizeOf } from "./wasm/kernel_gen.ts";
import type { KernelFn } from "./render_js.ts";

/** Generates the loop nest of a kernel (see `loopsOf`). */
function build(k: Kernel): Gen {
  const g = new Gen(analyse(k)), f = g.f;
  const { outer, red, unrolled, lanes, laneVars, level } = g.a.loops;
  const o = g.vars.get("o")!, v = f.local("f64");
  const accs = Array.from({ length: lanes }, () => f.local("f64"));
  const lane = (u: number) => {
    for (const x of laneVars) g.off.set(x, u);
    g.acc = accs[u];
  };
  // `for (x = start; x < start + count·step; x += step) body()`, with x's hoisted sums
  const loop = (x: string, start: number, count: number, step: number, body: () => void) => {
    const iv = g.vars.get(x)!;
    f.i32(start).set(iv).loop((top) => {
      g.hoist(level.get(x)!);
      body();
      f.get(iv).i32(step).op("i32.add").tee(iv).i32(start + count * step).op("i32.lt_s").brIf(top);
    });
  };
  // the reduction loops in render_js's order; at the innermost, one step of each of n lanes
  const reduce = (j: number, n: number): void => {
    const op = k.reduce!.op, name = `r${j}`;
    if (j < red.length && unrolled[j]) {
      for (let x = 0; x < red[j]; x++) g.off.set(name, x), reduce(j + 1, n);
      return void g.off.delete(name);
    }
    if (j < red.length) return loop(name, 0, red[j], 1, () => reduce(j + 1, n));
    for (let u = 0; u < n; u++) {
      lane(u);
      g.as(k.body, "f");
      if (op === "sum") f.get(g.acc).op("f64.add").set(g.acc);
      else {
        // if (v > acc || v !== v) acc = v  (min: v < acc)
        const take = () => f.get(v).set(g.acc);
        f.tee(v).get(g.acc).op(op === "max" ? "f64.gt" : "f64.lt");
        f.if(take, () => f.get(v).get(v).op("f64.ne").if(take));
      }
    }
    lane(0);
  };
  const [shift, , store] = ELEM[k.outDtype]!;
  // n consecutive outputs
  const element = (n: number): void => {
    let value = k.body;
    if (k.reduce) {
      const init = k.reduce.op === "sum" ? 0 : k.reduce.op === "max" ? -Infinity : Infinity;
      for (const acc of accs.slice(0, n)) f.f64(init).set(acc);
      reduce(0, n);
      value = k.epilogue ?? { k: "acc", dtype: "float64" };
    }
    for (let u = 0; u < n; u++) {
      lane(u);
      f.get(g.bases[0]).get(o).i32(shift).op("i32.shl").op("i32.add");
      g.as(value, isF(k.outDtype) ? "f" : "i");
      if (k.outDtype === "float32") f.op("f32.demote_f64");
      f.mem(store, u << shift);
    }
    lane(0);
    f.get(o).i32(n).op("i32.add").set(o);
  };
  const outerLoop = (d: number): void => {
    const n = outer[d], main = Math.floor(n / lanes), x = `i${d}`;
    if (d < outer.length - 1) return loop(x, 0, n, 1, () => outerLoop(d + 1));
    if (main) loop(x, 0, main, lanes, () => element(lanes));
    if (n % lanes) loop(x, main * lanes, n % lanes, 1, () => element(1));
  };
  if (sizeOf(outer) === 0) return g;
  f.i32(0).set(o);
  g.hoist(0);
  if (outer.length) outerLoop(0);
  else element(1);
  return g;
}

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;
type TypedCtor = { new (b: ArrayBuffer, off: number, n: number): Typed; BYTES_PER_ELEMENT: number };
const WASM_KERNELS = new WeakSet<KernelFn>();
const RETAIN_BYTES = 1 << 24; // memory kept between calls at most (a larger one is dropped)

/**
 * @internal Warm-up of a fresh kernel at its first call: engines start Wasm in a baseline tier
 * (V8 Liftoff, JSC BBQ) and optimize a function only after it has run for a while, so a small
 * kernel's next calls ran 2-3× slower than later ones. Its first call therefore runs it again on
 * the same memory (the output is overwritten with the same values) until a run takes at most
 * `speedup` of the fastest of the first three reruns (the optimized code is in), `maxRuns` reruns or `budgetMs`. Not
 * for kernels whose first run took over `maxFirstMs` or whose first rerun took over
 * `maxRerunMs` (the first run also touches fresh memory; long runs trigger the tier-up alone).
 */
export const wasmWarmup: {
  maxRuns: number;
  budgetMs: number;
  maxFirstMs: number;
  maxRerunMs: number;
  speedup: number;
} = { maxRuns: 64, budgetMs: 1.5, maxFirstMs: 20, maxRerunMs: 0.25, speedup: 0.6 };

/** Runs `run` again as `wasmWarmup` says; `first` is the first run's time in ms. */
function warm(run: () => void, first: number): void {
  const w = wasmWarmup, t0 = performance.now();
  if (first > w.maxFirstMs) return;
  let ref = Infinity;
  for (let i = 0; i < w.maxRuns && performance.now() - t0 <= w.budgetMs; i++) {
    const t = performance.now();
    run();
    const dt = performance.now() - t;
    if (i < 3) ref = Math.min(ref, dt); // the baseline tier's time (noise only adds)
    else if (dt <= w.speedup * ref) return;
    if (ref > w.maxRerunMs) return;
  }
}

let available: boolean | undefined;

/** Whether this runtime can compile and run WebAssembly (checked once). */
function wasmAvailable(): boolean {
  try {
    available ??=
      new WebAssembly.Instance(new WebAssembly.Module(new ModuleBuilder().toBytes())) instanceof
        Object;
  } catch {
    available = false;
  }
  return available;
}

/**
 * The ops a kernel's module imports (calls out to JS: `Math.*`, reference scalar functions), or
 * null where WebAssembly is unavailable or `renderWasmKernel` would not reproduce the JS
 * semantics (no kernel the lowering makes today; e.g. a JS boolean compared with `===`).
 *
 * @example
 * ```ts
 * import type { Kernel } from "../lib/compile/kernel.ts";
 * const index = { k: "index", index: { k: "var", name: "i0" }, dtype: "int32" } as const;
 * const k: Kernel = {
 *   outShape: [2], outDtype: "float64", inputs: [],
 *   body: { k: "alu", op: "exp", args: [index], dtype: "float64" },
 * };
 * if (wasmImports(k)?.join() !== "exp") throw new Error("expected exp");
 * ```
 */
export function wasmImports(k: Kernel): string[] | null {
  if (!wasmAvailable() || !hasDtypesOnly(k, ELEM)) return null; // narrow ints, float16: JS
  try {
    return [...analyse(k).imports.keys()];
  } catch {
    return null;
  }
}

/**
 * True for the functions `renderWasmKernel` returned.
 *
 * @example
 * ```ts
 * if (isWasmKernel(() => {})) throw new Error("a plain function is not a Wasm kernel");
 * ```
 */
export function isWasmKernel(fn: KernelFn): boolean {
  return WASM_KERNELS.has(fn);
}

/**
 * Renders and instantiates a kernel as Wasm. The result has render_js's signature and results, bit for bit; its inputs and
 * output must be typed arrays of the kernel's dtypes (bool: Uint8Array), the output of the
 * kernel's size. Each kernel owns a memory, grown to its largest call (up to 16 MiB kept).
 * Unsupported IR (see `wasmImports`) is a TypeError.
 *
 * @example
 * ```ts
 * import type { Kernel } from "../lib/compile/kernel.ts";
 * const k: Kernel = {
 *   outShape: [], outDtype: "float32", inputs: ["float32"], reduce: { op: "sum", shape: [3] },
 *   body: { k: "load", input: 0, index: { k: "var", name: "r0" }, dtype: "float32" },
 * };
 * const out = new Float32Array(1);
 * renderWasmKernel(k)([new Float32Array([1, 2, 3.5])], out);
 * if (out[0] !== 6.5) throw new Error(`got ${out[0]}`);
 * ```
 */
export function renderWasmKernel(k: Kernel): KernelFn {
  const g = build(k), imports = g.imports, module = new WebAssembly.Module(g.mb.toBytes());
  const n = k.inputs.length, total = sizeOf(k.outShape);
  const ctors = k.inputs.map(typedCtor) as unknown as TypedCtor[];
  const outCtor = typedCtor(k.outDtype) as unknown as TypedCtor;
  // the instance and the layout of the last call: input lengths, views of inputs and output
  let memory: WebAssembly.Memory | undefined, run = () => {};
  const lens: number[] = new Array(n).fill(-1);
  let views: Typed[] = [], outView: Typed | undefined, buffer: ArrayBuffer | undefined;
  let warmed = false;
  const layout = (ins: ArrayLike<number>[]): void => {
    if (!memory) {
      memory = new WebAssembly.Memory({ initial: 1 });
      const inst = new WebAssembly.Instance(module, { env: { memory }, f: imports });
      run = inst.exports.run as () => void;
    }
    const align = (x: number) => (x + 15) & ~15;
    let at = align(4 * (n + 1));
    const ptrs = ins.map((a, i) => {
      const p = at;
      at = align(at + a.length * ctors[i].BYTES_PER_ELEMENT);
      return (lens[i] = a.length), p;
    });
    const end = at + total * outCtor.BYTES_PER_ELEMENT, have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / 65536));
    const b = buffer = memory.buffer as ArrayBuffer;
    new Int32Array(b, 0, n + 1).set([at, ...ptrs]);
    views = ptrs.map((p, i) => new ctors[i](b, p, lens[i]));
    outView = new outCtor(b, at, total);
  };
  const fn: KernelFn = (ins, out) => {
    const bad = (what: string, want: string, got: unknown) =>
      new TypeError(`renderWasmKernel: ${what} must be a ${want}, got ${got?.constructor?.name}`);
    if (ins.length !== n) throw new RangeError(`renderWasmKernel: ${n} inputs, got ${ins.length}`);
    if (!(out instanceof outCtor) || out.length !== total) {
      throw bad("output", `${outCtor.name}(${total})`, out);
    }
    let fresh = buffer === undefined || buffer !== memory?.buffer;
    for (let i = 0; i < n; i++) {
      if (!(ins[i] instanceof ctors[i])) throw bad(`input ${i}`, ctors[i].name, ins[i]);
      if (ins[i].length !== lens[i]) fresh = true;
    }
    if (total === 0) return;
    if (fresh) layout(ins);
    for (let i = 0; i < n; i++) views[i].set(ins[i] as Typed);
    if (!warmed) {
      const t = performance.now();
      run();
      warm(run, performance.now() - t);
      warmed = true;
    } else run();
    (out as Typed).set(outView!);
    // a memory can only grow: drop a large one (the next call instantiates afresh)
    if (buffer!.byteLength > RETAIN_BYTES) memory = buffer = undefined;
  };
  WASM_KERNELS.add(fn);
  return fn;
}

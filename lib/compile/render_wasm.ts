/**
 * Renders a kernel (kernel.ts) to WebAssembly with render_js.ts's semantics, bit for bit: float64
 * values (float32 loads widen, stores round), wrapping int32 ops, and imports of the very `Math.*`
 * and reference scalar functions the JS calls. Kinds mirror the JS values: `f` float64, `i` an
 * int32 number (i32); JS booleans (cmpIdx, land) are i32 0/1 used only as conditions. Indices are
 * affine i32 sums hoisted by loop level; a reduction computes `LANES` outputs together (each in
 * render_js's order) to hide the add latency. The `(ins, out) => void` wrapper copies the inputs
 * into a memory it owns, runs the module and copies the output back.
 * @module
 */
import { type DType, typedCtor } from "../dtype.ts";
import type { FuncBuilder, MemOp, PlainOp } from "../../kernels/wasm/encoder.ts";
import { ModuleBuilder } from "../../kernels/wasm/encoder.ts";
import { type Expr, hasDtypesOnly, type Idx, type Kernel } from "./kernel.ts";
import type { KernelFn } from "./render_js.ts";

/** Reference scalar functions by op name (runner.ts collects them from the ops). */
export type Scalars = Map<string, (...x: number[]) => number>;
type Kind = "i" | "f";
type Alu = Extract<Expr, { k: "alu" }>;

/** The `Math.*` functions render_js inlines (imported, so results are those very calls). */
const MATH = new Map(["exp", "log", "tanh", "sin", "cos"].map((n) => [n, Math[n as "exp"]]));
/** The arity of each op render_js inlines. */
const ARITY_LIST =
  "add2 sub2 mul2 div2 neg1 exp1 log1 sqrt1 abs1 tanh1 sin1 cos1 eq2 ne2 lt2 le2 " +
  "gt2 ge2 select3 land2 stopGradient1 not1 convert1";
const ARITY = new Map(ARITY_LIST.split(" ").map((s) => [s.slice(0, -1), Number(s.at(-1))]));
/** Comparisons: [i32 op, f64 op]. */
const CMP = new Map(
  "eq.eq ne.ne lt.lt_s le.le_s gt.gt_s ge.ge_s".split(" ").map((s) => s.split("."))
    .map(([n, i]) => [n, [`i32.${i}`, `f64.${n}`] as PlainOp[]]),
);
/** Ops that wrap (`| 0`, Math.imul) when their first operand is int32. */
const WRAPS = new Set(["add", "sub", "mul", "neg"]);
const IDX_CMP: Record<string, PlainOp> = { "<": "i32.lt_s", ">=": "i32.ge_s", "==": "i32.eq" };
/** Element size (log2 bytes), load and store of each dtype. */
const ELEM: Partial<Record<DType, [number, MemOp, MemOp]>> = {
  float32: [2, "f32.load", "f32.store"],
  float64: [3, "f64.load", "f64.store"],
  int32: [2, "i32.load", "i32.store"],
  bool: [0, "i32.load8_u", "i32.store8"],
};
const INT32_MIN = -2147483648, INT32_MAX = 2147483647, LANES = 4;

/** The dtype render_js picks its inline template by (the first argument's). */
const argDtype = (e: Expr): DType =>
  e.k === "load" || e.k === "alu" || e.k === "const" || e.k === "acc" ? e.dtype : "int32";
/** The source dtype render_js's `convert` reads (not `acc`'s). */
const convertFrom = (e: Expr): DType =>
  e.k === "load" || e.k === "alu" || e.k === "const" ? e.dtype : "int32";
const isF = (d: DType) => d === "float32" || d === "float64";
const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

class Unsupported extends Error {}
const fail = (why: string): never => {
  throw new Unsupported(why);
};

/** Loops `i<d>` at levels 1..n (`o` counts outputs), then the reduction loops render_js does not
 * unroll (extent > 4); `lanes` outputs of the innermost output loop run together. */
function loopsOf(k: Kernel) {
  const outer = k.outShape, n = outer.length, red = k.reduce?.shape ?? [];
  const unrolled = red.map((x) => x <= 4);
  const level = new Map<string, number>([["o", n]]);
  const range = new Map<string, [number, number]>([["o", [0, sizeOf(outer) - 1]]]);
  outer.forEach((x, d) => (level.set(`i${d}`, d + 1), range.set(`i${d}`, [0, x - 1])));
  let levels = n + 1;
  for (const [j, x] of red.entries()) {
    range.set(`r${j}`, [0, x - 1]);
    if (!unrolled[j]) level.set(`r${j}`, levels++);
  }
  const lanes = k.reduce && outer[n - 1] >= 2 ? LANES : 1;
  const laneVars = lanes === 1 ? [] : [`i${n - 1}`, "o"];
  return { outer, red, unrolled, lanes, laneVars, level, range, levels };
}

/** A term coef·atom: a loop variable, or a non-affine index node (key "@..."). */
type Term = [atom: string, coef: number];
/** An index as Σ terms + k. */
type Affine = { k: number; t: Term[] };
/** A hoisted partial sum: `prev` plus the terms of its loop level. */
type Sum = { level: number; prev: Term[]; terms: Term[]; local?: number };

function addAff(a: Affine, b: Affine): Affine {
  const m = new Map<string, number>(a.t);
  for (const [x, c] of b.t) m.set(x, (m.get(x) ?? 0) + c);
  const t = [...m].filter(([, c]) => c !== 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return { k: a.k + b.k, t };
}
const scaleAff = (a: Affine, c: number): Affine =>
  c === 0 ? { k: 0, t: [] } : { k: a.k * c, t: a.t.map(([x, v]) => [x, v * c]) };
/** A single variable with coefficient 1 is read directly, not summed into a local. */
const isPlain = (t: Term[]): boolean => t.length === 1 && t[0][1] === 1;
/** JS booleans (`===` tells them from numbers) serve only as conditions here. */
const isBool = (x: Expr) => x.k === "cmpIdx" || (x.k === "alu" && x.op === "land");

/**
 * Static analysis: kinds, imports, and indices as affine forms whose loop-variable part is summed
 * once per loop level; constants (unrolled variables, lanes) become offsets, non-affine nodes
 * (floor division, remainder) are computed where used.
 */
class Analysis {
  readonly loops: ReturnType<typeof loopsOf>;
  readonly kinds = new Map<Expr, Kind>();
  /** Imported functions by op name, in import order. */
  readonly imports = new Map<string, { fn: (...x: number[]) => number; arity: number }>();
  readonly atoms = new Map<string, Extract<Idx, { k: "bin" }>>();
  /** Hoisted partial sums, dependencies first. */
  readonly sums = new Map<string, Sum>();
  constructor(readonly k: Kernel, readonly scalars: Scalars) {
    this.loops = loopsOf(k);
  }

  range(i: Idx): [number, number] {
    if (i.k === "lit") return Number.isInteger(i.v) ? [i.v, i.v] : fail(`index literal ${i.v}`);
    if (i.k === "var") return this.loops.range.get(i.name) ?? fail(`index variable ${i.name}`);
    const [al, ah] = this.range(i.a), [bl, bh] = this.range(i.b);
    let r: [number, number];
    if (i.op === "+") r = [al + bl, ah + bh];
    else if (i.op === "*") {
      const p = [al * bl, al * bh, ah * bl, ah * bh];
      r = [Math.min(...p), Math.max(...p)];
    } else if (i.b.k !== "lit" || bl <= 0) return fail("division by a non-positive index");
    else if (i.op === "/") r = [Math.floor(al / bl), Math.floor(ah / bl)];
    else r = al >= 0 ? [0, Math.min(bl - 1, ah)] : [1 - bl, bl - 1];
    return r[0] < INT32_MIN || r[1] > INT32_MAX ? fail(`index range [${r}] exceeds int32`) : r;
  }

  /** The affine form of `i`, variables shifted by `off`; `reg` registers the atoms met. */
  aff(i: Idx, off: Map<string, number>, reg = false): Affine {
    if (i.k === "lit") return { k: i.v, t: [] };
    if (i.k === "var") {
      return { k: off.get(i.name) ?? 0, t: this.loops.level.has(i.name) ? [[i.name, 1]] : [] };
    }
    if (i.op === "+" || i.op === "*") {
      const a = this.aff(i.a, off, reg), b = this.aff(i.b, off, reg);
      if (i.op === "+") return addAff(a, b);
      if (!a.t.length) return scaleAff(b, a.k);
      if (!b.t.length) return scaleAff(a, b.k);
    }
    const key = "@" + JSON.stringify(i);
    if (reg && !this.atoms.has(key)) this.form(i.a), this.form(i.b), this.atoms.set(key, i);
    return { k: 0, t: [[key, 1]] };
  }

  isVar = ([x]: Term): boolean => this.loops.level.has(x);

  /** Lower bound of an affine form, and a bound of the magnitude of its partial sums. */
  bounds(a: Affine): [number, number] {
    let lo = a.k, mag = Math.abs(a.k);
    for (const [x, c] of a.t) {
      const [l, h] = this.isVar([x, c]) ? this.loops.range.get(x)! : this.range(this.atoms.get(x)!);
      lo += Math.min(c * l, c * h);
      mag += Math.abs(c) * Math.max(-l, h);
    }
    return [lo, mag];
  }

  /** Checks an index and registers the partial sums its evaluation hoists. */
  form(i: Idx): void {
    this.range(i);
    const a = this.aff(i, new Map(), true);
    if (this.bounds(a)[1] > INT32_MAX) fail("index partial sums exceed int32");
    const vs = a.t.filter(this.isVar), lv = ([x]: Term) => this.loops.level.get(x)!;
    let prev: Term[] = [];
    for (const l of [...new Set(vs.map(lv))].sort((x, y) => x - y)) {
      const upTo = vs.filter((t) => lv(t) <= l), key = JSON.stringify(upTo);
      if (!isPlain(upTo) && !this.sums.has(key)) {
        this.sums.set(key, { level: l, prev, terms: vs.filter((t) => lv(t) === l) });
      }
      prev = upTo;
    }
  }

  kind(e: Expr): Kind {
    if (!this.kinds.has(e)) this.kinds.set(e, this.#kind(e));
    return this.kinds.get(e)!;
  }

  #kind(e: Expr): Kind {
    if (e.k === "index" || e.k === "load") this.form(e.index);
    if (e.k === "load") return isF(this.k.inputs[e.input] ?? fail(`input ${e.input}`)) ? "f" : "i";
    if (e.k === "const") {
      const v = e.v, int = Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
      return !isF(e.dtype) && int && !Object.is(v, -0) ? "i" : "f";
    }
    if (e.k === "cmpIdx") this.form(e.a), this.form(e.b);
    if (e.k === "acc") return this.k.reduce ? "f" : fail("acc outside a reduction");
    if (e.k !== "alu") return "i";
    const ks = e.args.map((a) => this.kind(a)), op = e.op, arity = ARITY.get(op);
    if (arity !== undefined && ks.length !== arity) fail(`${op} with ${ks.length} arguments`);
    const bs = e.args.map(isBool), d = ks.length ? argDtype(e.args[0]) : e.dtype;
    if (op === "land" ? !bs.every(Boolean) : bs.some((b, j) => b && (op !== "select" || j > 0))) {
      fail(`${op} of a JS boolean`);
    }
    const toInt = e.dtype === "bool" || (e.dtype === "int32" && isF(convertFrom(e.args[0])));
    if (op === "convert") return toInt ? "i" : ks[0];
    if (WRAPS.has(op)) return d === "int32" ? "i" : "f";
    if (op === "div" || op === "sqrt" || op === "abs") return "f";
    if (op === "select") return ks[1] === ks[2] ? ks[1] : "f";
    if (op === "stopGradient") return ks[0];
    if (op === "not" || op === "land" || CMP.has(op)) return "i";
    const fn = MATH.get(op) ?? this.scalars.get(op);
    if (!fn) throw new TypeError(`renderWasmKernel: no scalar function for op ${op}`);
    const got = this.imports.get(op);
    if (got && got.arity !== ks.length) fail(`${op} called with different arities`);
    if (!got) this.imports.set(op, { fn, arity: ks.length });
    return "f";
  }
}

/** Emits the module of one analysed kernel; `run()` reads the byte addresses of the output
 * (word 0) and of input i (word i + 1) at address 0. */
class Gen {
  readonly mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
  /** Imported functions by name, and their function index by op. */
  readonly imports: Record<string, (...x: number[]) => number> = {};
  readonly calls = new Map<string, number>();
  readonly toI32: number;
  readonly f: FuncBuilder;
  /** Locals of the loop variables, and current constant shifts (unrolled variables, lanes). */
  readonly vars = new Map<string, number>();
  readonly off = new Map<string, number>();
  readonly byLevel: Sum[][];
  readonly bases: number[];
  acc = -1;

  constructor(readonly a: Analysis) {
    for (const [op, { fn, arity }] of a.imports) {
      const name = `f${this.calls.size}`;
      this.calls.set(op, this.mb.importFunc("f", name, Array(arity).fill("f64"), ["f64"]));
      this.imports[name] = fn;
    }
    this.toI32 = genToI32(this.mb);
    const f = this.f = this.mb.func([], [], "run");
    this.byLevel = Array.from({ length: a.loops.levels }, () => []);
    for (const s of a.sums.values()) this.byLevel[s.level].push(s), s.local = f.local("i32");
    for (const name of a.loops.level.keys()) this.vars.set(name, f.local("i32"));
    this.bases = [-1, ...a.k.inputs].map(() => f.local("i32"));
    this.bases.forEach((l, i) => f.i32(0).mem("i32.load", 4 * i).set(l));
  }

  /** Multiplies the i32 on the stack by `c`, then adds what was below it if `pushed`. */
  #times(c: number, pushed: boolean): true {
    const log = Math.log2(c);
    if (Number.isInteger(log) && log > 0 && log < 31) this.f.i32(log).op("i32.shl");
    else if (c !== 1) this.f.i32(c).op("i32.mul");
    if (pushed) this.f.op("i32.add");
    return true;
  }

  /** Pushes Σ c·var over loop-variable terms; false (nothing pushed) when there are none. */
  #sum(t: Term[]): boolean {
    if (!t.length) return false;
    this.f.get(isPlain(t) ? this.vars.get(t[0][0])! : this.a.sums.get(JSON.stringify(t))!.local!);
    return true;
  }

  /** Computes the hoisted sums of a loop level (at the start of each of its iterations). */
  hoist(level: number): void {
    for (const s of this.byLevel[level]) {
      let pushed = this.#sum(s.prev);
      for (const [x, c] of s.terms) this.f.get(this.vars.get(x)!), pushed = this.#times(c, pushed);
      this.f.set(s.local!);
    }
  }

  /** Pushes the index less its constant, times 2^shift; returns the constant. */
  #varPart(i: Idx, shift: number): number {
    const a = this.a, af = a.aff(i, this.off), f = this.f;
    let pushed = this.#sum(af.t.filter(a.isVar));
    for (const [x, c] of af.t.filter((t) => !a.isVar(t))) {
      const node = a.atoms.get(x)!, operands = () => (this.idx(node.a), this.idx(node.b));
      operands();
      if (node.op === "*") f.op("i32.mul");
      else if (node.op === "%") f.op("i32.rem_s");
      else if (a.range(node.a)[0] >= 0) f.op("i32.div_s");
      else {
        // floor division of a possibly negative value: truncate, minus 1 if the remainder is < 0
        f.op("i32.div_s"), operands();
        f.op("i32.rem_s").i32(0).op("i32.lt_s").op("i32.sub");
      }
      pushed = this.#times(c, pushed);
    }
    if (!pushed) f.i32(0);
    else this.#times(2 ** shift, false);
    return af.k;
  }

  /** Pushes an index. */
  idx(i: Idx): void {
    const k = this.#varPart(i, 0);
    if (k !== 0) this.f.i32(k).op("i32.add");
  }

  /** Pushes the address of element `i` of buffer `b` (0: output) less the returned offset. */
  address(i: Idx, b: number, shift: number): number {
    const k = this.#varPart(i, shift) * 2 ** shift;
    this.f.get(this.bases[b]).op("i32.add");
    // the offset immediate adds without wrapping: only with a non-negative rest
    if (k >= 0 && this.a.bounds(this.a.aff(i, this.off))[0] * 2 ** shift >= k) return k;
    if (k !== 0) this.f.i32(k).op("i32.add");
    return 0;
  }

  /** Pushes `e` as a float64 (`f`) or as JS's ToInt32 of it (`i`). */
  as(e: Expr, want: Kind): void {
    const k = this.a.kind(e);
    this.expr(e);
    if (want === "f" && k !== "f") this.f.op("f64.convert_i32_s");
    if (want === "i" && k === "f") this.f.call(this.toI32);
  }

  /** Pushes the JS truthiness of `e` (NaN and ±0 are false). */
  truthy(e: Expr): void {
    this.expr(e);
    if (this.a.kind(e) === "f") this.f.op("f64.abs").f64(0).op("f64.gt");
  }

  expr(e: Expr): void {
    const f = this.f, a = this.a;
    if (e.k === "load") {
      const [shift, load] = ELEM[a.k.inputs[e.input]]!;
      f.mem(load, this.address(e.index, e.input + 1, shift));
      if (load === "f32.load") f.op("f64.promote_f32");
    } else if (e.k === "const") a.kind(e) === "i" ? f.i32(e.v) : f.f64(e.v);
    else if (e.k === "index") this.idx(e.index);
    else if (e.k === "cmpIdx") this.idx(e.a), this.idx(e.b), f.op(IDX_CMP[e.op]);
    else if (e.k === "acc") f.get(this.acc);
    else this.alu(e);
  }

  alu(e: Alu): void {
    const f = this.f, a = this.a, args = e.args, op = e.op;
    const ks = args.map((x) => a.kind(x)), d = args.length ? argDtype(args[0]) : e.dtype;
    const all = (want: Kind, ins: PlainOp) => {
      for (const x of args) this.as(x, want);
      f.op(ins);
    };
    if (op === "add" || op === "sub" || op === "neg") {
      const fop = op === "add" ? "f64.add" : op === "sub" ? "f64.sub" : "f64.neg";
      if (d !== "int32") return all("f", fop);
      // `(a ± b) | 0`: exact in i32 from int32 operands, else ToInt32 of the float64 result
      if (ks.includes("f")) return all("f", fop), void f.call(this.toI32);
      if (op === "neg") f.i32(0);
      return all("i", op === "add" ? "i32.add" : "i32.sub");
    }
    if (op === "mul") return d === "int32" ? all("i", "i32.mul") : all("f", "f64.mul");
    if (op === "div" || op === "sqrt" || op === "abs") return all("f", `f64.${op}` as PlainOp);
    if (op === "select") {
      // lazily, like `c ? x : y` (a branch may load out of bounds, e.g. in padding)
      const [c, x, y] = args, rk = a.kind(e);
      this.truthy(c);
      return void f.if(() => this.as(x, rk), () => this.as(y, rk), rk === "f" ? "f64" : "i32");
    }
    if (op === "land") return this.expr(args[0]), this.expr(args[1]), void f.op("i32.and");
    if (op === "stopGradient") return this.expr(args[0]);
    if (op === "not" && d === "bool") return this.truthy(args[0]), void f.op("i32.eqz");
    if (op === "not") return this.as(args[0], "i"), void f.i32(-1).op("i32.xor");
    if (op === "convert" && e.dtype === "bool") {
      this.expr(args[0]);
      return void (ks[0] === "f" ? f.f64(0).op("f64.ne") : f.i32(0).op("i32.ne"));
    }
    if (op === "convert") return this.as(args[0], a.kind(e));
    const cmp = CMP.get(op);
    if (cmp) return ks.includes("f") ? all("f", cmp[1]) : all("i", cmp[0]);
    for (const x of args) this.as(x, "f");
    f.call(this.calls.get(op)!);
  }
}

/** JS's ToInt32 as a function f64 -> i32: NaN and ±Infinity give 0, other values wrap mod 2^32. */
function genToI32(mb: ModuleBuilder): number {
  const f = mb.func(["f64"], ["i32"]);
  const t = f.local("f64");
  f.get(0).f64(INT32_MIN).op("f64.ge").get(0).f64(INT32_MAX).op("f64.le").op("i32.and");
  f.if(() => f.get(0).op("i32.trunc_f64_s"), () => {
    f.get(0).get(0).op("f64.sub").f64(0).op("f64.eq");
    // t - 2^32 floor(t / 2^32) is exact for an integral t and lies in [0, 2^32)
    const wrap = () => {
      f.get(0).op("f64.trunc").tee(t).get(t).f64(2 ** 32).op("f64.div").op("f64.floor");
      f.f64(2 ** 32).op("f64.mul").op("f64.sub").op("i32.trunc_f64_u");
    };
    f.if(wrap, () => f.i32(0), "i32");
  }, "i32");
  return f.index;
}

function analyse(k: Kernel, scalars: Scalars): Analysis {
  const an = new Analysis(k, scalars);
  try {
    for (const e of k.epilogue ? [k.body, k.epilogue] : [k.body]) an.kind(e);
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    throw new TypeError(`renderWasmKernel: unsupported kernel (${err.message})`);
  }
  return an;
}

/** Generates the loop nest of a kernel (see `loopsOf`). */
function build(k: Kernel, scalars: Scalars): Gen {
  const g = new Gen(analyse(k, scalars)), f = g.f;
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
 * import type { Kernel } from "./kernel.ts";
 * const index = { k: "index", index: { k: "var", name: "i0" } } as const;
 * const k: Kernel = {
 *   outShape: [2], outDtype: "float64", inputs: [],
 *   body: { k: "alu", op: "exp", args: [index], dtype: "float64" },
 * };
 * if (wasmImports(k, new Map())?.join() !== "exp") throw new Error("expected exp");
 * ```
 */
export function wasmImports(k: Kernel, scalars: Scalars): string[] | null {
  if (!wasmAvailable() || !hasDtypesOnly(k, ELEM)) return null; // else JS
  try {
    return [...analyse(k, scalars).imports.keys()];
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
 * Renders and instantiates a kernel as Wasm; `scalars` supplies the reference functions of
 * non-inline ops. The result has render_js's signature and results, bit for bit; its inputs and
 * output must be typed arrays of the kernel's dtypes (bool: Uint8Array), the output of the
 * kernel's size. Each kernel owns a memory, grown to its largest call (up to 16 MiB kept).
 * Unsupported IR (see `wasmImports`) is a TypeError.
 *
 * @example
 * ```ts
 * import type { Kernel } from "./kernel.ts";
 * const k: Kernel = {
 *   outShape: [], outDtype: "float32", inputs: ["float32"], reduce: { op: "sum", shape: [3] },
 *   body: { k: "load", input: 0, index: { k: "var", name: "r0" }, dtype: "float32" },
 * };
 * const out = new Float32Array(1);
 * renderWasmKernel(k, new Map())([new Float32Array([1, 2, 3.5])], out);
 * if (out[0] !== 6.5) throw new Error(`got ${out[0]}`);
 * ```
 */
export function renderWasmKernel(k: Kernel, scalars: Scalars): KernelFn {
  const g = build(k, scalars), imports = g.imports, module = new WebAssembly.Module(g.mb.toBytes());
  const n = k.inputs.length, total = sizeOf(k.outShape);
  const ctors = k.inputs.map(typedCtor) as unknown as TypedCtor[];
  const outCtor = typedCtor(k.outDtype) as unknown as TypedCtor;
  // the instance and the layout of the last call: input lengths, views of inputs and output
  let memory: WebAssembly.Memory | undefined, run = () => {};
  const lens: number[] = new Array(n).fill(-1);
  let views: Typed[] = [], outView: Typed | undefined, buffer: ArrayBuffer | undefined;
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
    run();
    (out as Typed).set(outView!);
    // a memory can only grow: drop a large one (the next call instantiates afresh)
    if (buffer!.byteLength > RETAIN_BYTES) memory = buffer = undefined;
  };
  WASM_KERNELS.add(fn);
  return fn;
}

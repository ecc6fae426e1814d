/**
 * Static analysis and code generation of one kernel for render_wasm.ts: value kinds per node,
 * imports, indices as affine forms summed once per loop level, and expressions as Wasm code with
 * render_js.ts's semantics bit for bit (`alu` ops from their OpDef's Wasm form).
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { FuncBuilder, MemOp, PlainOp } from "./encoder.ts";
import { ModuleBuilder } from "./encoder.ts";
import { type Alu, type Expr, type Idx, isCond, type Kernel } from "../../lib/compile/kernel.ts";
import { aluOf } from "../../lib/compile/alu.ts";
import type { WasmForm, WasmScalarOp } from "../../lib/ops/_render.ts";

/** Every instruction a template may name is one the encoder knows (a type error otherwise). */
type _Known = WasmScalarOp extends PlainOp ? true : never;
const _known: _Known = true;

/** How a value lives on the Wasm stack: `f` a float64, `i` an i32 (JS's int32 or boolean). */
export type Kind = "i" | "f";

const IDX_CMP: Record<string, PlainOp> = { "<": "i32.lt_s", ">=": "i32.ge_s", "==": "i32.eq" };
/** Element size (log2 bytes), load and store of each dtype. */
export const ELEM: Partial<Record<DType, [number, MemOp, MemOp]>> = {
  float32: [2, "f32.load", "f32.store"],
  float64: [3, "f64.load", "f64.store"],
  int32: [2, "i32.load", "i32.store"],
  bool: [0, "i32.load8_u", "i32.store8"],
};
const INT32_MIN = -2147483648, INT32_MAX = 2147483647;
/** Outputs a reduction computes together. */
export const LANES = 4;

/** The dtype templates branch on: the first operand's. */
const argDtype = (e: Alu): DType => e.args[0]?.dtype ?? e.dtype;
export const isF = (d: DType) => d === "float32" || d === "float64";
export const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** IR the Wasm renderer cannot reproduce JS semantics for. */
export class Unsupported extends Error {}
const fail = (why: string): never => {
  throw new Unsupported(why);
};

/** Loops `i<d>` at levels 1..n (`o` counts outputs), then the reduction loops render_js does not
 * unroll (extent > 4); `lanes` outputs of the innermost output loop run together. */
export function loopsOf(k: Kernel) {
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

/**
 * Static analysis: kinds, imports, and indices as affine forms whose loop-variable part is summed
 * once per loop level; constants (unrolled variables, lanes) become offsets, non-affine nodes
 * (floor division, remainder) are computed where used.
 */
export class Analysis {
  readonly loops: ReturnType<typeof loopsOf>;
  readonly kinds = new Map<Expr, Kind>();
  /** Imported functions by op name, in import order. */
  readonly imports = new Map<string, { fn: (...x: number[]) => number; arity: number }>();
  readonly atoms = new Map<string, Extract<Idx, { k: "bin" | "dyn" }>>();
  /** Hoisted partial sums, dependencies first. */
  readonly sums = new Map<string, Sum>();
  constructor(readonly k: Kernel) {
    this.loops = loopsOf(k);
  }

  range(i: Idx): [number, number] {
    if (i.k === "lit") return Number.isInteger(i.v) ? [i.v, i.v] : fail(`index literal ${i.v}`);
    if (i.k === "var") return this.loops.range.get(i.name) ?? fail(`index variable ${i.name}`);
    if (i.k === "dyn") return [i.lo, i.hi];
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
    if (i.k === "bin" && (i.op === "+" || i.op === "*")) {
      const a = this.aff(i.a, off, reg), b = this.aff(i.b, off, reg);
      if (i.op === "+") return addAff(a, b);
      if (!a.t.length) return scaleAff(b, a.k);
      if (!b.t.length) return scaleAff(a, b.k);
    }
    const key = "@" + JSON.stringify(i);
    if (reg && !this.atoms.has(key)) {
      if (i.k === "dyn") this.kind(i.e); // a data-dependent index: its expression, clamped
      else this.form(i.a), this.form(i.b);
      this.atoms.set(key, i);
    }
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
    const ks = e.args.map((a) => this.kind(a)), form = aluOf(e).render.wasm;
    const conds = e.args.map(isCond);
    if (
      form === "condAnd"
        ? !conds.every(Boolean)
        : conds.some((c, j) => c && (form !== "choose" || j > 0))
    ) {
      fail(`${e.op} of a JS boolean`);
    }
    return this.#aluKind(e, ks, form);
  }

  #aluKind(e: Alu, ks: Kind[], form: WasmForm): Kind {
    if (form === "cast") {
      const toInt = e.dtype === "bool" || (e.dtype === "int32" && isF(e.args[0].dtype));
      return toInt ? "i" : ks[0];
    }
    if (form === "choose") return ks[1] === ks[2] ? ks[1] : "f";
    if (form === "identity") return ks[0];
    if (form === "bitNot" || form === "condAnd") return "i";
    if (typeof form === "object" && "cmp" in form) return "i";
    if (typeof form === "object" && "f64" in form) {
      return form.i32 && argDtype(e) === "int32" ? "i" : "f";
    }
    const fn = form === "call" ? aluOf(e).scalar : form.import;
    const got = this.imports.get(e.op);
    if (got && got.arity !== ks.length) fail(`${e.op} called with different arities`);
    if (!got) this.imports.set(e.op, { fn, arity: ks.length });
    return "f";
  }
}

/** Emits the module of one analysed kernel; `run()` reads the byte addresses of the output
 * (word 0) and of input i (word i + 1) at address 0. */
export class Gen {
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
  /** Scratch local of the index clamp. */
  readonly tmp: number;
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
    this.tmp = f.local("i32");
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
      const node = a.atoms.get(x)!;
      if (node.k === "dyn") {
        this.#clamped(node);
        pushed = this.#times(c, pushed);
        continue;
      }
      const operands = () => (this.idx(node.a), this.idx(node.b));
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

  /** Pushes a data-dependent index: ToInt32 of its expression clamped to [lo, hi] (selects). */
  #clamped(node: Extract<Idx, { k: "dyn" }>): void {
    const f = this.f, t = this.tmp;
    this.as(node.e, "i");
    f.tee(t).i32(node.lo).get(t).i32(node.lo).op("i32.gt_s").op("select");
    f.tee(t).i32(node.hi).get(t).i32(node.hi).op("i32.lt_s").op("select");
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
    const f = this.f, a = this.a, args = e.args, form = aluOf(e).render.wasm;
    const ks = args.map((x) => a.kind(x)), d = argDtype(e);
    const all = (want: Kind, ins: PlainOp) => {
      for (const x of args) this.as(x, want);
      f.op(ins);
    };
    if (typeof form === "object" && "f64" in form) {
      if (!form.i32 || d !== "int32") return all("f", form.f64);
      // `(a ± b) | 0`: exact in i32 from int32 operands, else ToInt32 of the float64 result
      if (form.int === "result" && ks.includes("f")) {
        return all("f", form.f64), void f.call(this.toI32);
      }
      if (args.length === 1) f.i32(0);
      return all("i", form.i32);
    }
    if (typeof form === "object" && "cmp" in form) {
      return ks.includes("f") ? all("f", form.cmp[1]) : all("i", form.cmp[0]);
    }
    if (form === "choose") {
      // lazily, like `c ? x : y` (a branch may load out of bounds, e.g. in padding)
      const [c, x, y] = args, rk = a.kind(e);
      this.truthy(c);
      return void f.if(() => this.as(x, rk), () => this.as(y, rk), rk === "f" ? "f64" : "i32");
    }
    if (form === "condAnd") return this.expr(args[0]), this.expr(args[1]), void f.op("i32.and");
    if (form === "identity") return this.expr(args[0]);
    if (form === "bitNot" && d === "bool") return this.truthy(args[0]), void f.op("i32.eqz");
    if (form === "bitNot") return this.as(args[0], "i"), void f.i32(-1).op("i32.xor");
    if (form === "cast" && e.dtype === "bool") {
      this.expr(args[0]);
      return void (ks[0] === "f" ? f.f64(0).op("f64.ne") : f.i32(0).op("i32.ne"));
    }
    if (form === "cast") return this.as(args[0], a.kind(e));
    for (const x of args) this.as(x, "f");
    f.call(this.calls.get(e.op)!);
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

export function analyse(k: Kernel): Analysis {
  const an = new Analysis(k);
  try {
    for (const e of k.epilogue ? [k.body, k.epilogue] : [k.body]) an.kind(e);
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    throw new TypeError(`renderWasmKernel: unsupported kernel (${err.message})`);
  }
  return an;
}

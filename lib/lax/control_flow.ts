// deno-lint-ignore-file no-explicit-any -- control flow takes and returns user pytrees
/**
 * `lax` control flow (JAX's `lax.scan`, `foriLoop`, `whileLoop`, `cond`, `switch`, `map`): loops
 * and branches that stay single primitives holding sub-jaxprs, so a 10,000-step loop is traced
 * once and every transform (grad, vmap, jit) applies to the body.
 * @module
 */
import { Tensor } from "../tensor.ts";
import { type TreeDef, treeDefEqual } from "../tree.ts";
import { checkOptions } from "../options.ts";
import { flatten, unflatten } from "../api/_args.ts";
import { convert } from "../ops/elementwise.ts";
import type { Aval } from "../ops/_define.ts";
import { scanPrim } from "../ops/scan.ts";
import { condOp, whileOp } from "../ops/cond.ts";
import { bind } from "../core.ts";
import { ArrayValue } from "../core.ts";
import { asTensor } from "../numpy/_convert.ts";
import { closeBranches, closeFn, fmtAval } from "../ops/_control.ts";
import { fmt } from "./_args.ts";

/** Options of {@linkcode scan}. */
export interface ScanOptions {
  /** Trip count; required when `xs` has no leaves, else it must equal their leading size. */
  length?: number;
  /** Run from the last element of `xs` to the first (`ys` stays in `xs` order). */
  reverse?: boolean;
  /**
   * Scan steps per iteration of the compiled loop (JAX's `unroll`; `true`: all of them, no loop).
   * The loop body becomes one program of `unroll` steps, so per-iteration overhead is paid
   * `length / unroll` times; a length not divisible by it ends with one shorter block. Results
   * are unchanged.
   */
  unroll?: number | boolean;
}

const strong = (t: Tensor) => (t.aval.weak ? convert(t, t.aval.dtype) : t);

/** Flattens a loop carry: leaves become strongly typed arrays (JS numbers keep their dtype). */
function flattenCarry(tree: unknown): [Tensor[], TreeDef] {
  const [leaves, def] = flatten(tree);
  return [leaves.map(strong), def];
}

/**
 * Traces `body(carryAvals, restAvals)` and checks that its carry output matches the carry input
 * (structure, shapes, dtypes); a weakly typed output is cast to the carry dtype, and a carry that
 * entered from a JS number takes the body's dtype (JAX's weak-type promotion), retracing once.
 */
function traceLoopBody(
  op: string,
  init: Tensor[],
  initDef: TreeDef,
  rest: Aval[],
  body: (carry: Tensor[], rest: Tensor[]) => [unknown, Tensor[]],
  weakInit: boolean[],
): { jaxpr: ReturnType<typeof closeFn>; init: Tensor[] } {
  for (let attempt = 0;; attempt++) {
    const promote = new Map<number, Aval["dtype"]>();
    const nK = init.length;
    const closed = closeFn((zs) => {
      const [cOut, extra] = body(zs.slice(0, nK), zs.slice(nK));
      const [leaves, def] = flatten(cOut);
      if (!treeDefEqual(def, initDef)) {
        throw new TypeError(
          `${op}: the body must return a carry with the structure of the initial carry, ${initDef}, got ${def}`,
        );
      }
      const fixed = leaves.map((l, i) => {
        const want = init[i].aval;
        if (l.aval.shape.join() !== want.shape.join()) {
          throw new TypeError(
            `${op}: carry leaf ${i} enters the body as ${fmtAval(want)} but the body returns ${
              fmtAval(l.aval)
            }; the carry must keep its shape`,
          );
        }
        if (l.aval.dtype === want.dtype) return l;
        if (l.aval.weak) return convert(l, want.dtype);
        if (weakInit[i] && attempt === 0) {
          promote.set(i, l.aval.dtype);
          return l;
        }
        throw new TypeError(
          `${op}: carry leaf ${i} enters the body as ${fmtAval(want)} but the body returns ${
            fmtAval(l.aval)
          }; the carry must keep its dtype (cast the initial value or the result)`,
        );
      });
      return [...fixed, ...extra];
    }, [...init.map((t) => t.aval), ...rest]);
    if (!promote.size) return { jaxpr: closed, init };
    init = init.map((t, i) => (promote.has(i) ? convert(t, promote.get(i)!) : t));
  }
}

function leadingLength(xs: Tensor[], length: number | undefined): number {
  if (length !== undefined && !(Number.isInteger(length) && length >= 0)) {
    throw new RangeError(`scan: length must be a non-negative integer, got ${fmt(length)}`);
  }
  for (const x of xs) {
    if (x.aval.shape.length === 0) {
      throw new TypeError(
        "scan: every leaf of xs must have a leading axis to scan over, got a 0-d array",
      );
    }
    const n = x.aval.shape[0];
    if (length !== undefined && n !== length) {
      throw new RangeError(
        `scan: xs leaves have leading sizes ${
          fmt(xs.map((t) => t.aval.shape[0]))
        }, which must all equal length ${length}`,
      );
    }
    length = n;
  }
  if (length === undefined) {
    throw new TypeError("scan: length is required when xs has no arrays (e.g. xs = null)");
  }
  return length;
}

/**
 * `jax.lax.scan`: `f(carry, x) -> [carry, y]` applied along the leading axis of `xs`, returning
 * `[finalCarry, ys]` with the `y`s stacked. Carry, `xs` and `ys` are pytrees. The loop is one
 * primitive (the body is traced once), differentiable (grad, jvp), batchable and jittable.
 *
 * @param f The body.
 * @param init The initial carry.
 * @param xs Arrays to scan over (leading axis), or null with `length`.
 * @param opts `length`, `reverse`, `unroll`.
 * @returns `[carry, ys]`.
 * @example Cumulative sum
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * const [total, sums] = lax.scan((c, x) => [c.add(x), c.add(x)], 0, np.array([1, 2, 3, 4]));
 * if (total.item() !== 10 || sums.dataSync().join() !== "1,3,6,10") throw new Error("scan");
 * ```
 */
export function scan(
  f: (carry: any, x: any) => [any, any],
  init: unknown,
  xs?: unknown,
  opts?: ScanOptions,
): [any, any] {
  return scanWith("scan", f, init, xs, checkOptions("scan", opts, ["length", "reverse", "unroll"]));
}

function scanWith(
  op: string,
  f: (carry: any, x: any) => [any, any],
  init: unknown,
  xs: unknown,
  o: ScanOptions,
): [any, any] {
  if (typeof f !== "function") throw new TypeError(`${op}: f must be a function, got ${fmt(f)}`);
  const unroll = o.unroll === true
    ? Infinity
    : o.unroll === false || o.unroll === undefined
    ? 1
    : o.unroll;
  if (!(unroll >= 1) || (unroll !== Infinity && !Number.isInteger(unroll))) {
    throw new RangeError(
      `scan: unroll must be a positive integer or a boolean, got ${fmt(o.unroll)}`,
    );
  }
  const [initLeaves, initDef] = flattenCarry(init);
  const weak = flatten(init)[0].map((t) => t.aval.weak);
  const [xLeaves, xDef] = flatten(xs ?? null);
  const length = leadingLength(xLeaves, o.length);
  const xAvals = xLeaves.map((x) => ({ ...x.aval, shape: x.aval.shape.slice(1), weak: false }));
  let yDef: TreeDef | undefined;
  const nK = initLeaves.length;
  const { jaxpr: body, init: carry } = traceLoopBody(
    "scan",
    initLeaves,
    initDef,
    xAvals,
    (c, x) => {
      const r = f(unflatten(initDef, c), xs === undefined ? undefined : unflatten(xDef, x));
      if (!Array.isArray(r) || r.length !== 2) {
        throw new TypeError(`${op}: f must return [carry, y], got ${fmt(r)}`);
      }
      const [ys, def] = flatten(r[1]);
      yDef = def;
      return [r[0], ys];
    },
    weak,
  );
  const args = [...body.consts, ...carry, ...xLeaves];
  const outs = scanPrim(args, {
    jaxpr: body.jaxpr,
    nConsts: body.consts.length,
    nCarry: nK,
    length,
    reverse: o.reverse ?? false,
    linear: args.map(() => false),
    unroll: Math.min(unroll, Math.max(length, 1)),
  });
  return [unflatten(initDef, outs.slice(0, nK)), unflatten(yDef!, outs.slice(nK))];
}

/**
 * `jax.lax.map`: applies `f` to each slice of `xs` along its leading axis (a scan without a
 * carry) and stacks the results.
 *
 * @param f Function of one slice (a pytree).
 * @param xs Arrays with a common leading size.
 * @returns The stacked results.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * const y = lax.map((r) => np.sum(r), np.array([[1, 2], [3, 4]]));
 * if (y.dataSync().join() !== "3,7") throw new Error("map");
 * ```
 */
export function map(f: (x: any) => any, xs: unknown): any {
  if (typeof f !== "function") throw new TypeError(`map: f must be a function, got ${fmt(f)}`);
  return scan((c, x) => [c, f(x)], null, xs)[1];
}

/**
 * `jax.lax.while_loop`: `while (condFun(carry)) carry = bodyFun(carry)`, as one primitive (the
 * functions are traced once). Differentiable in forward mode (jvp) and batchable (examples whose
 * condition turned false keep their carry while others continue); reverse mode is an error
 * (use {@linkcode scan} or {@linkcode foriLoop} with static bounds). Under jit on WebGPU each
 * iteration reads the condition back to the host (see docs/control_flow.md).
 *
 * @param condFun Carry -> boolean scalar.
 * @param bodyFun Carry -> carry (same structure, shapes, dtypes).
 * @param init The initial carry (a pytree).
 * @returns The final carry.
 * @example Halvings until below 1
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * const [, steps] = lax.whileLoop(
 *   ([x]: np.Tensor[]) => x.greater(1),
 *   ([x, k]: np.Tensor[]) => [x.div(2), k.add(1)],
 *   [np.array(20, { dtype: "float32" }), np.array(0)],
 * );
 * if (steps.item() !== 5) throw new Error("whileLoop");
 * ```
 */
export function whileLoop(
  condFun: (carry: any) => unknown,
  bodyFun: (carry: any) => any,
  init: unknown,
): any {
  if (typeof condFun !== "function" || typeof bodyFun !== "function") {
    throw new TypeError(
      `whileLoop: condFun and bodyFun must be functions, got ${fmt(condFun)} and ${fmt(bodyFun)}`,
    );
  }
  const [leaves, def] = flattenCarry(init);
  const weak = flatten(init)[0].map((t) => t.aval.weak);
  const { jaxpr: body, init: carry } = traceLoopBody(
    "whileLoop",
    leaves,
    def,
    [],
    (c) => [bodyFun(unflatten(def, c)), []],
    weak,
  );
  const cond = closeFn((zs) => {
    const r = condFun(unflatten(def, zs));
    const t = r instanceof Tensor || typeof r === "boolean" ? asTensor(r) : undefined;
    if (!t || t.aval.dtype !== "bool" || t.aval.shape.length !== 0) {
      throw new TypeError(
        `whileLoop: condFun must return a boolean scalar, got ${t ? fmtAval(t.aval) : fmt(r)}`,
      );
    }
    return [t];
  }, carry.map((t) => t.aval));
  const outs = bind(whileOp, [...cond.consts, ...body.consts, ...carry], {
    cond: cond.jaxpr,
    body: body.jaxpr,
    nCondConsts: cond.consts.length,
    nBodyConsts: body.consts.length,
  });
  return unflatten(def, outs);
}

/** A bound known while tracing (a JS number or a concrete scalar), else undefined. */
function staticBound(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v instanceof ArrayValue && v.aval.shape.length === 0) return Number(v._valuesSync()[0]);
  return undefined;
}

function intBound(op: string, name: string, v: unknown): Tensor {
  const t = asTensor(v, op);
  if (t.aval.shape.length !== 0 || (t.aval.dtype !== "int32" && !t.aval.weak)) {
    throw new TypeError(`${op}: ${name} must be an integer scalar, got ${fmtAval(t.aval)}`);
  }
  return convert(t, "int32");
}

/**
 * `jax.lax.fori_loop`: `for (i = lower; i < upper; i++) val = body(i, val)`. With static bounds
 * (JS numbers or concrete arrays) it is a {@linkcode scan}, so reverse-mode differentiation works;
 * with traced bounds it is a {@linkcode whileLoop}.
 *
 * @param lower First index (inclusive).
 * @param upper Last index (exclusive).
 * @param body `(i, val) -> val` with `i` an int32 scalar.
 * @param init The initial value (a pytree).
 * @returns The final value.
 * @example Powers by repeated multiplication
 * ```ts
 * import { grad, lax, np } from "../../mod.ts";
 * const cube = (x: np.Tensor) => lax.foriLoop(0, 3, (_i: np.Tensor, v: np.Tensor) => v.mul(x), np.ones([]));
 * if (cube(np.array(2.5)).item() !== 15.625 || grad(cube)(2.5).item() !== 18.75) throw new Error("fori");
 * ```
 */
export function foriLoop(
  lower: number | Tensor,
  upper: number | Tensor,
  body: (i: any, val: any) => any,
  init: unknown,
): any {
  if (typeof body !== "function") {
    throw new TypeError(`foriLoop: body must be a function, got ${fmt(body)}`);
  }
  const lo = staticBound(lower), hi = staticBound(upper);
  if (lo !== undefined && hi !== undefined) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) {
      throw new RangeError(
        `foriLoop: bounds must be integers, got ${fmt(lower)} and ${fmt(upper)}`,
      );
    }
    const i0 = convert(asTensor(lo), "int32");
    const [[, val]] = scanWith(
      "foriLoop",
      ([i, v]: [Tensor, unknown]) => [[i.add(1), body(i, v)], null],
      [
        i0,
        init,
      ],
      null,
      { length: Math.max(0, hi - lo) },
    );
    return val;
  }
  const lo32 = intBound("foriLoop", "lower", lower), hi32 = intBound("foriLoop", "upper", upper);
  return whileLoop(
    ([i]: [Tensor]) => i.less(hi32),
    ([i, v]: [Tensor, unknown]) => [i.add(1), body(i, v)],
    [lo32, init],
  )[1];
}

/**
 * `jax.lax.switch`: applies `branches[index](...operands)`; the index is clamped into range. One
 * primitive holding every branch: differentiable, batchable (a batched index runs every branch
 * and selects per example) and jittable. Branches must return the same structure and avals.
 *
 * @param index An int32 scalar (or JS number).
 * @param branches The functions to choose from.
 * @param operands Arguments passed to the chosen branch (pytrees).
 * @returns The chosen branch's result.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * const y = lax.switch(1, [(x: np.Tensor) => x.add(1), (x: np.Tensor) => x.mul(10)], np.array(2));
 * if (y.item() !== 20) throw new Error("switch");
 * ```
 */
function switch_(
  index: unknown,
  branches: ((...xs: any[]) => any)[],
  ...operands: unknown[]
): any {
  return switchWith("switch", index, branches, operands);
}
export { switch_ as switch };

function switchWith(
  op: string,
  index: unknown,
  branches: ((...xs: any[]) => any)[],
  operands: unknown[],
): any {
  if (
    !Array.isArray(branches) || branches.length === 0 ||
    branches.some((b) => typeof b !== "function")
  ) {
    throw new TypeError(
      `${op}: branches must be a non-empty array of functions, got ${fmt(branches)}`,
    );
  }
  const idx = intBound(op, "index", index);
  const [leaves, def] = flatten(operands);
  const outDefs: TreeDef[] = [];
  const { jaxprs, consts } = closeBranches(
    op,
    branches.map((b, k) => (zs) => {
      const [outs, od] = flatten(b(...(unflatten(def, zs) as unknown[])));
      outDefs[k] = od;
      return outs;
    }),
    leaves.map((l) => l.aval),
  );
  outDefs.forEach((d, k) => {
    if (!treeDefEqual(d, outDefs[0])) {
      throw new TypeError(
        `${op}: every branch must return the same structure; branch 0 returns ${
          outDefs[0]
        } but branch ${k} returns ${d}`,
      );
    }
  });
  const args = [idx, ...consts, ...leaves];
  const outs = bind(condOp, args, { branches: jaxprs, linear: args.map(() => false) });
  return unflatten(outDefs[0], outs);
}

/**
 * `jax.lax.cond`: `pred ? trueFun(...operands) : falseFun(...operands)` as one primitive, so it
 * works on traced predicates under jit and vmap (a batched predicate evaluates both branches and
 * selects) and is differentiable.
 *
 * @param pred A boolean (or numeric: nonzero is true) scalar.
 * @param trueFun Applied when pred holds.
 * @param falseFun Applied otherwise.
 * @param operands Arguments of the branches (pytrees).
 * @returns The chosen branch's result.
 * @example
 * ```ts
 * import { jit, lax, np } from "../../mod.ts";
 * const relu = jit((x: np.Tensor) => lax.cond(x.greater(0), (v: np.Tensor) => v, (v: np.Tensor) => v.mul(0), x));
 * if (relu(np.array(-3)).item() !== 0 || relu(np.array(2)).item() !== 2) throw new Error("cond");
 * ```
 */
export function cond(
  pred: unknown,
  trueFun: (...xs: any[]) => any,
  falseFun: (...xs: any[]) => any,
  ...operands: unknown[]
): any {
  const p = asTensor(pred, "cond");
  if (p.aval.shape.length !== 0) {
    throw new TypeError(`cond: pred must be a scalar, got ${fmtAval(p.aval)}`);
  }
  const index = convert(p.aval.dtype === "bool" ? p : convert(p, "bool"), "int32");
  return switchWith("cond", index, [falseFun, trueFun], operands);
}

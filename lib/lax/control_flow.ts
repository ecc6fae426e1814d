// deno-lint-ignore-file no-explicit-any -- control flow takes and returns user pytrees
/**
 * `lax` control flow (JAX's `lax.scan`, `foriLoop`, `whileLoop`, `cond`, `switch`, `map`): loops
 * and branches that stay single primitives holding sub-jaxprs, so a 10,000-step loop is traced
 * once and every transform (grad, vmap, jit) applies to the body.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type TreeDef, treeDefEqual } from "../tree.ts";
import { checkOptions } from "../options.ts";
import { flatten, unflatten } from "../api/_args.ts";
import { convert } from "../ops/elementwise.ts";
import type { Aval } from "../ops/_define.ts";
import { scanPrim } from "../ops/scan.ts";
import { closeFn, fmtAval } from "../ops/_control.ts";
import { fmt } from "../nn/_args.ts";

/** Options of {@linkcode scan}. */
export interface ScanOptions {
  /** Trip count; required when `xs` has no leaves, else it must equal their leading size. */
  length?: number;
  /** Run from the last element of `xs` to the first (`ys` stays in `xs` order). */
  reverse?: boolean;
  /** Unrolling hint: loop iterations per step of the compiled loop (results are unchanged). */
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
  const o = checkOptions("scan", opts, ["length", "reverse", "unroll"]);
  if (typeof f !== "function") throw new TypeError(`scan: f must be a function, got ${fmt(f)}`);
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
        throw new TypeError(`scan: f must return [carry, y], got ${fmt(r)}`);
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

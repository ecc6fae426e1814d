/**
 * `checkGrads`: numerical verification of jvp and vjp against central finite differences, in
 * float64 (complex128 for complex arguments), to any order (JAX's check_grads).
 * @module
 */
import type { AnyFunction } from "./_types.ts";
import { fromHost } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { convert } from "../ops/elementwise.ts";
import { checkFunction, flatten, unflatten } from "./_args.ts";
import { checkOptions } from "../options.ts";
import { jvp, vjp } from "./autodiff.ts";
import { add, conj, multiply, real, subtract, sum } from "../numpy.ts";
import { isComplex } from "../dtype.ts";

/** Options of `checkGrads`. */
export interface CheckGradsOptions {
  /** Highest derivative order to check (default 1). */
  order?: number;
  /** Which modes to check (default both). */
  modes?: ("fwd" | "rev")[];
  /** Finite-difference step (default 1e-4, in float64). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Seed of the random directions (default 0). */
  seed?: number;
}

function rng(seed: number): () => number {
  let s = (seed * 2654435761 + 1) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** A random direction like `t` (complex128 with random real and imaginary parts if `t` is complex). */
function randomLike(t: Tensor, r: () => number): Tensor {
  const cplx = isComplex(t.dtype);
  const d = new Float64Array(t.size * (cplx ? 2 : 1));
  for (let i = 0; i < d.length; i++) d[i] = r();
  return fromHost(d, t.shape, cplx ? "complex128" : "float64");
}

function to64(tree: unknown): unknown {
  const [leaves, def] = flatten(tree);
  return unflatten(
    def,
    leaves.map((l) => convert(l, isComplex(l.dtype) ? "complex128" : "float64")),
  );
}

const conjTree = <T>(tree: T): T => {
  const [leaves, def] = flatten(tree);
  return unflatten(def, leaves.map((l) => conj(l))) as T;
};

function compare(what: string, got: Tensor[], want: Tensor[], atol: number, rtol: number): void {
  let worst = { err: 0, i: -1, leaf: 0, g: 0, w: 0 };
  got.forEach((g, leaf) => {
    const a = g._valuesSync(), b = want[leaf]._valuesSync();
    for (let i = 0; i < a.length; i++) {
      const err = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
      const nanMismatch = Number.isNaN(a[i]) !== Number.isNaN(b[i]);
      if (nanMismatch || err > worst.err) {
        worst = { err: nanMismatch ? Infinity : err, i, leaf, g: a[i], w: b[i] };
      }
    }
  });
  if (worst.i >= 0) {
    throw new RangeError(
      `checkGrads: ${what} mismatch at output ${worst.leaf}, flat index ${worst.i}: got ${worst.g}, expected ${worst.w} ` +
        `(|diff| ${
          Math.abs(worst.g - worst.w).toExponential(3)
        } exceeds atol ${atol} + rtol ${rtol} * |expected|)`,
    );
  }
}

/** The real inner product Σ re(conj(x)·y) (the plain dot product for real arrays). */
function inner(xs: Tensor[], ys: Tensor[]): Tensor {
  return xs.map((x, i) => real(sum(multiply(conj(x), ys[i])))).reduce((a, b) => add(a, b));
}

/**
 * Checks `f`'s derivatives numerically at `args`; throws a RangeError describing the worst element.
 *
 * @example Check sin to second order
 * ```ts
 * import { checkGrads, np } from "../../mod.ts";
 * checkGrads((x) => np.sin(x), [np.array([0.5, 1.5])], { order: 2 });
 * ```
 * @example Complex arguments: directions have random real and imaginary parts; gradients of a
 * real output follow JAX's convention (∂f/∂x − i·∂f/∂y)
 * ```ts
 * import { checkGrads, lax, np } from "../../mod.ts";
 * const z = lax.complex(np.array([1, -0.5]), np.array([2, 0.25]));
 * checkGrads((z) => np.sum(np.abs(np.exp(z))), [z]);
 * checkGrads((z) => np.sin(z).mul(z), [z], { order: 2 });
 * ```
 */
export function checkGrads(f: AnyFunction, args: unknown[], opts?: CheckGradsOptions): void {
  checkFunction("checkGrads", f);
  if (!Array.isArray(args)) {
    throw new TypeError(`checkGrads: args must be an array of arguments, got ${typeof args}`);
  }
  opts = checkOptions("checkGrads", opts, ["order", "modes", "eps", "atol", "rtol", "seed"]);
  const { order = 1, modes = ["fwd", "rev"], eps = 1e-4, atol = 1e-5, rtol = 1e-5, seed = 0 } =
    opts;
  if (!Number.isInteger(order) || order < 1) {
    throw new RangeError(`checkGrads: order must be an integer >= 1, got ${order}`);
  }
  if (
    !Array.isArray(modes) || modes.length === 0 || modes.some((m) => m !== "fwd" && m !== "rev")
  ) {
    throw new RangeError(
      `checkGrads: modes must be a non-empty list of "fwd" and "rev", got ${JSON.stringify(modes)}`,
    );
  }
  if (!(eps > 0)) throw new RangeError(`checkGrads: eps must be > 0, got ${eps}`);
  const r = rng(seed);
  const xs = args.map(to64);
  const flatXs = xs.map((x) => flatten(x));
  const vs = flatXs.map(([l, d]) => unflatten(d, l.map((t) => randomLike(t, r))));
  const shifted = (s: number) =>
    xs.map((_, j) => {
      const [l, d] = flatXs[j];
      const [v] = flatten(vs[j]);
      return unflatten(d, l.map((t, i) => add(t, multiply(v[i], s))));
    });
  const [outPlus] = flatten(f(...shifted(eps)));
  const [outMinus] = flatten(f(...shifted(-eps)));
  const numeric = outPlus.map((p, i) => multiply(subtract(p, outMinus[i]), 1 / (2 * eps)));
  const tFlat = modes.includes("fwd") ? flatten(jvp(f, xs, vs)[1])[0] : [];
  if (modes.includes("fwd")) compare("jvp vs finite differences", tFlat, numeric, atol, rtol);
  if (modes.includes("rev")) {
    const [out, pullback] = vjp(f, ...xs);
    const [outFlat, outDef] = flatten(out);
    const us = outFlat.map((o) => randomLike(o, r));
    // JAX's check_vjp: with conj(vjp(conj(u))), <u, J v> = <J^T u, v> holds for complex
    // arguments under JAX's gradient convention (conj is the identity on real arrays)
    const cts = conjTree(pullback(conjTree(unflatten(outDef, us))));
    const lhs = inner(modes.includes("fwd") ? tFlat : numeric, us);
    const rhs = inner(vs.flatMap((v) => flatten(v)[0]), cts.flatMap((c) => flatten(c)[0]));
    compare("vjp inner product <ct, J v> vs <J^T ct, v>", [rhs], [lhs], atol, rtol);
    if (order > 1) {
      checkGrads((...ys: unknown[]) => vjp(f, ...ys)[1](unflatten(outDef, us)), xs, {
        ...opts,
        order: order - 1,
        seed: seed + 1,
      });
    }
  }
  if (order > 1 && modes.includes("fwd")) {
    checkGrads((...ys: unknown[]) => jvp(f, ys, vs)[1], xs, {
      ...opts,
      order: order - 1,
      seed: seed + 1,
    });
  }
}

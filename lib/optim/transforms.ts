// optax's gradient transformations: the building blocks (scaleByAdam, trace, ...) and the
// optimizers built from them with chain, following optax's update formulas and defaults.
import { Tensor } from "../tensor.ts";
import type { ArrayLike } from "../tensor.ts";
import { isFloat } from "../dtype.ts";
import { checkOptions } from "../options.ts";
import { type TreeDef, treeDefEqual, treeFlatten, treeUnflatten } from "../tree.ts";
import {
  add,
  array,
  astype,
  fullLike,
  greater,
  less,
  multiply,
  power,
  rsqrt,
  sign,
  sqrt,
  square,
  subtract,
  sum,
  where,
  zerosLike,
} from "../numpy.ts";
import type { Schedule } from "./schedules.ts";

/**
 * optax's `GradientTransformation`: `init(params)` makes the state (a pytree of Tensors);
 * `update(updates, state, params?)` transforms gradients (or the updates of an earlier
 * transformation) into updates, returning `[updates, newState]`.
 */
export interface GradientTransformation<S = unknown> {
  /** The initial state for `params`. */
  init(params: unknown): S;
  /** Transforms `updates` (same structure as the params); `params` is needed by weight decay. */
  update<U>(updates: U, state: S, params?: U): [U, S];
}

/** A learning rate: a number or a schedule of the step count (see `constant`, `cosineDecay`, ...). */
export type LearningRate = number | Schedule;

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;

/** Float Tensor leaves of a pytree; anything else is a TypeError naming `op` and `name`. */
function leavesOf(op: string, name: string, tree: unknown): [Tensor[], TreeDef] {
  let out: [Tensor[], TreeDef];
  try {
    out = treeFlatten(tree, isTensor, { scalarsAreLeaves: false });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new TypeError(
      `${op}: ${name} must be a pytree of Tensors: ${e.message.replace(/^\w+: /, "")}`,
    );
  }
  const bad = out[0].findIndex((t) => !isFloat(t.dtype));
  if (bad >= 0) {
    throw new TypeError(
      `${op}: ${name} leaves must be floats, leaf ${bad} has dtype ${out[0][bad].dtype}`,
    );
  }
  return out;
}

/** Leaves of `tree` checked to have the structure `def` (of the updates). */
function matching(op: string, name: string, tree: unknown, def: TreeDef): Tensor[] {
  const [ls, d] = leavesOf(op, name, tree);
  if (!treeDefEqual(def, d)) {
    throw new TypeError(`${op}: ${name} has structure ${d} but the updates have structure ${def}`);
  }
  return ls;
}

function checkCount(op: string, count: unknown): Tensor {
  if (!(count instanceof Tensor) || count.ndim !== 0) {
    throw new TypeError(
      `${op}: state.count must be a scalar Tensor, got ${count}; make the state with init`,
    );
  }
  return count;
}

function checkNum(op: string, name: string, v: unknown, lo = -Infinity, hi = Infinity): number {
  if (typeof v !== "number" || !(v >= lo && v <= hi)) {
    throw new RangeError(`${op}: ${name} ${v} must be a number in [${lo}, ${hi}]`);
  }
  return v;
}

const zeroCount = () => array(0, { dtype: "int32" });
/** `decay^count` in dtype `dt`, the bias correction `1 - decay^count`. */
const correction = (decay: number, count: Tensor, dt: Tensor["dtype"]) =>
  subtract(1, power(decay, astype(count, dt)));
const keep = (t: Tensor, like: Tensor) => (t.dtype === like.dtype ? t : astype(t, like.dtype));

/** A per-leaf transformation with moment state built from `fields` (each a zeros-like tree). */
function perLeaf<S extends { count: Tensor }>(
  op: string,
  fields: Record<string, (p: Tensor) => Tensor>,
  step: (
    g: Tensor,
    moments: Record<string, Tensor>,
    count: Tensor,
  ) => [Tensor, Record<string, Tensor>],
): GradientTransformation<S> {
  const names = Object.keys(fields);
  return {
    init(params) {
      const [ps, def] = leavesOf(`${op}.init`, "params", params);
      const s: Record<string, unknown> = { count: zeroCount() };
      for (const n of names) s[n] = treeUnflatten(def, ps.map(fields[n]));
      return s as S;
    },
    update(updates, state, _params) {
      const name = `${op}.update`;
      const [gs, def] = leavesOf(name, "updates", updates);
      const count = checkCount(name, state?.count);
      const ms = names.map((n) =>
        matching(name, `state.${n}`, (state as Record<string, unknown>)[n], def)
      );
      const newCount = add(count, 1);
      const outs = gs.map((g, i) =>
        step(g, Object.fromEntries(names.map((n, k) => [n, ms[k][i]])), newCount)
      );
      const s: Record<string, unknown> = { count: newCount };
      for (const n of names) s[n] = treeUnflatten(def, outs.map((o, i) => keep(o[1][n], gs[i])));
      return [treeUnflatten(def, outs.map((o, i) => keep(o[0], gs[i]))) as typeof updates, s as S];
    },
  };
}

/** State of {@link scaleByAdam}. */
export interface ScaleByAdamState {
  /** Number of updates applied (int32 scalar). */
  count: Tensor;
  /** First-moment average, shaped like the params. */
  mu: unknown;
  /** Second-moment average, shaped like the params. */
  nu: unknown;
}

/**
 * optax's `scale_by_adam`: `mu ← b1·mu + (1−b1)·g`, `nu ← b2·nu + (1−b2)·g²`, update
 * `mû / (√(nû + epsRoot) + eps)` with bias corrections `1 − b^t` (in the dtype of each leaf).
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByAdam();
 * const [u] = t.update([np.array([4, -0.5], { dtype: "float32" })], t.init([np.zeros([2])]));
 * if (Math.abs(u[0].dataSync()[0] - 1) > 1e-4) throw new Error();
 * ```
 */
export function scaleByAdam(
  opts: { b1?: number; b2?: number; eps?: number; epsRoot?: number } = {},
): GradientTransformation<ScaleByAdamState> {
  const op = "scaleByAdam";
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = checkOptions(op, opts, [
    "b1",
    "b2",
    "eps",
    "epsRoot",
  ]);
  checkNum(op, "b1", b1, 0, 1);
  checkNum(op, "b2", b2, 0, 1);
  checkNum(op, "eps", eps, 0);
  checkNum(op, "epsRoot", epsRoot, 0);
  return perLeaf(op, { mu: (p) => zerosLike(p), nu: (p) => zerosLike(p) }, (g, { mu, nu }, t) => {
    const m = add(multiply(1 - b1, g), multiply(b1, mu));
    const v = add(multiply(1 - b2, square(g)), multiply(b2, nu));
    const mhat = m.div(correction(b1, t, g.dtype));
    const vhat = v.div(correction(b2, t, g.dtype));
    return [mhat.div(add(sqrt(add(vhat, epsRoot)), eps)), { mu: m, nu: v }];
  });
}

/**
 * optax's `scale_by_rms`: `nu ← decay·nu + (1−decay)·g²` (starting at `initialScale`), update
 * `g / √(nu + eps)` (`g / (√nu + eps)` when `epsInSqrt` is false); `biasCorrection` divides nu
 * by `1 − decay^t`.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByRms({ eps: 0 });
 * const [u] = t.update([np.array([2], { dtype: "float32" })], t.init([np.zeros([1])]));
 * if (Math.abs(u[0].item() as number - 2 / Math.sqrt(0.4)) > 1e-5) throw new Error();
 * ```
 */
export function scaleByRms(
  opts: {
    decay?: number;
    eps?: number;
    initialScale?: number;
    epsInSqrt?: boolean;
    biasCorrection?: boolean;
  } = {},
): GradientTransformation<{ count: Tensor; nu: unknown }> {
  const op = "scaleByRms";
  const o = checkOptions(op, opts, ["decay", "eps", "initialScale", "epsInSqrt", "biasCorrection"]);
  const { decay = 0.9, eps = 1e-8, initialScale = 0, epsInSqrt = true, biasCorrection = false } = o;
  checkNum(op, "decay", decay, 0, 1);
  return perLeaf(op, { nu: (p) => fullLike(p, initialScale) }, (g, { nu }, t) => {
    const v = add(multiply(1 - decay, square(g)), multiply(decay, nu));
    const vhat = biasCorrection ? v.div(correction(decay, t, g.dtype)) : v;
    const u = epsInSqrt ? multiply(g, rsqrt(add(vhat, eps))) : g.div(add(sqrt(vhat), eps));
    return [u, { nu: v }];
  });
}

/**
 * optax's `scale_by_stddev` (centred RMSProp): running `mu` and `nu`, update `g / √(nu − mu² + eps)`.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByStddev();
 * const [u] = t.update([np.array([1], { dtype: "float32" })], t.init([np.zeros([1])]));
 * if (!(Number(u[0].item()) > 3)) throw new Error();
 * ```
 */
export function scaleByStddev(
  opts: { decay?: number; eps?: number; initialScale?: number } = {},
): GradientTransformation<{ count: Tensor; mu: unknown; nu: unknown }> {
  const op = "scaleByStddev";
  const { decay = 0.9, eps = 1e-8, initialScale = 0 } = checkOptions(op, opts, [
    "decay",
    "eps",
    "initialScale",
  ]);
  checkNum(op, "decay", decay, 0, 1);
  return perLeaf(
    op,
    { mu: (p) => zerosLike(p), nu: (p) => fullLike(p, initialScale) },
    (g, { mu, nu }) => {
      const m = add(multiply(1 - decay, g), multiply(decay, mu));
      const v = add(multiply(1 - decay, square(g)), multiply(decay, nu));
      return [multiply(g, rsqrt(add(subtract(v, square(m)), eps))), { mu: m, nu: v }];
    },
  );
}

/**
 * optax's `scale_by_rss` (Adagrad): `s ← s + g²` from `initialAccumulatorValue`, update
 * `g / √(s + eps)` where `s > 0`, else 0.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByRss({ initialAccumulatorValue: 0, eps: 0 });
 * const [u] = t.update([np.array([-3], { dtype: "float32" })], t.init([np.zeros([1])]));
 * if (u[0].item() !== -1) throw new Error();
 * ```
 */
export function scaleByRss(
  opts: { initialAccumulatorValue?: number; eps?: number } = {},
): GradientTransformation<{ count: Tensor; sumOfSquares: unknown }> {
  const op = "scaleByRss";
  const { initialAccumulatorValue = 0.1, eps = 1e-7 } = checkOptions(op, opts, [
    "initialAccumulatorValue",
    "eps",
  ]);
  checkNum(op, "initialAccumulatorValue", initialAccumulatorValue, 0);
  return perLeaf(
    op,
    { sumOfSquares: (p) => fullLike(p, initialAccumulatorValue) },
    (g, { sumOfSquares }) => {
      const s = add(square(g), sumOfSquares);
      return [multiply(where(greater(s, 0), rsqrt(add(s, eps)), 0), g), { sumOfSquares: s }];
    },
  );
}

/**
 * optax's `scale_by_lion`: update `sign((1−b1)·g + b1·mu)`, then `mu ← b2·mu + (1−b2)·g`.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByLion();
 * const [u] = t.update([np.array([0.3, -2], { dtype: "float32" })], t.init([np.zeros([2])]));
 * if (u[0].dataSync().join() !== "1,-1") throw new Error();
 * ```
 */
export function scaleByLion(
  opts: { b1?: number; b2?: number } = {},
): GradientTransformation<{ count: Tensor; mu: unknown }> {
  const op = "scaleByLion";
  const { b1 = 0.9, b2 = 0.99 } = checkOptions(op, opts, ["b1", "b2"]);
  checkNum(op, "b1", b1, 0, 1);
  checkNum(op, "b2", b2, 0, 1);
  return perLeaf(op, { mu: (p) => zerosLike(p) }, (g, { mu }) => {
    const u = sign(add(multiply(1 - b1, g), multiply(b1, mu)));
    return [u, { mu: add(multiply(1 - b2, g), multiply(b2, mu)) }];
  });
}

/**
 * optax's `trace` (momentum): `t ← g + decay·t`, update `t` (Nesterov: `g + decay·t`).
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.trace({ decay: 0.5 });
 * let s = t.init([np.zeros([1])]);
 * let u: np.Tensor[];
 * [u, s] = t.update([np.ones([1])], s);
 * [u, s] = t.update([np.ones([1])], s);
 * if (u[0].item() !== 1.5) throw new Error();
 * ```
 */
export function trace(
  opts: { decay: number; nesterov?: boolean },
): GradientTransformation<{ count: Tensor; trace: unknown }> {
  const op = "trace";
  const { decay, nesterov = false } = checkOptions(op, opts, ["decay", "nesterov"]);
  checkNum(op, "decay", decay, 0, 1);
  return perLeaf(op, { trace: (p) => zerosLike(p) }, (g, { trace: t }) => {
    const nt = add(g, multiply(decay, t));
    return [nesterov ? add(g, multiply(decay, nt)) : nt, { trace: nt }];
  });
}

/**
 * optax's `scale_by_learning_rate`: multiplies updates by `−learningRate` (a schedule is
 * evaluated at the transformation's own count, 0 on the first update).
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.scaleByLearningRate(0.1);
 * const [u] = t.update([np.ones([1])], t.init([np.zeros([1])]));
 * if (Math.abs(Number(u[0].item()) + 0.1) > 1e-7) throw new Error();
 * ```
 */
export function scaleByLearningRate(
  learningRate: LearningRate,
  opts: { flipSign?: boolean } = {},
): GradientTransformation<{ count: Tensor }> {
  const op = "scaleByLearningRate";
  const { flipSign = true } = checkOptions(op, opts, ["flipSign"]);
  if (typeof learningRate !== "function") checkNum(op, "learningRate", learningRate);
  const m = flipSign ? -1 : 1;
  return {
    init: () => ({ count: zeroCount() }),
    update(updates, state) {
      const name = `${op}.update`;
      const count = checkCount(name, state?.count);
      const [gs, def] = leavesOf(name, "updates", updates);
      const rate: ArrayLike = typeof learningRate === "function"
        ? multiply(learningRate(count), m)
        : learningRate * m;
      const out = gs.map((g) => keep(multiply(g, rate), g));
      return [treeUnflatten(def, out) as typeof updates, { count: add(count, 1) }];
    },
  };
}

/** A mask: a pytree of booleans like the params (true = apply), or a function making one. */
export type Mask = unknown | ((params: unknown) => unknown);

function maskLeaves(op: string, mask: Mask, params: unknown, n: number): boolean[] {
  if (mask === undefined) return new Array(n).fill(true);
  const tree = typeof mask === "function" ? (mask as (p: unknown) => unknown)(params) : mask;
  const [ls] = treeFlatten(tree, (x): x is boolean => typeof x === "boolean");
  if (ls.length !== n || ls.some((b) => typeof b !== "boolean")) {
    throw new TypeError(`${op}: mask must be a pytree of ${n} booleans like the params`);
  }
  return ls as boolean[];
}

/**
 * optax's `add_decayed_weights`: `u + weightDecay·p` on the leaves where `mask` is true.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.addDecayedWeights({ weightDecay: 0.1 });
 * const p = { w: np.array([2], { dtype: "float32" }), b: np.array([2], { dtype: "float32" }) };
 * const [u] = optim.addDecayedWeights({ weightDecay: 0.1, mask: { w: true, b: false } })
 *   .update({ w: np.zeros([1]), b: np.zeros([1]) }, t.init(p), p);
 * if (Math.abs(Number(u.w.item()) - 0.2) > 1e-7 || u.b.item() !== 0) throw new Error();
 * ```
 */
export function addDecayedWeights(
  opts: { weightDecay?: number; mask?: Mask } = {},
): GradientTransformation<Record<string, never>> {
  const op = "addDecayedWeights";
  const { weightDecay = 0, mask } = checkOptions(op, opts, ["weightDecay", "mask"]);
  checkNum(op, "weightDecay", weightDecay);
  return {
    init: () => ({}),
    update(updates, state, params) {
      const name = `${op}.update`;
      const [gs, def] = leavesOf(name, "updates", updates);
      if (params === undefined) {
        throw new TypeError(`${name}: params are required for weight decay`);
      }
      const ps = matching(name, "params", params, def);
      const on = maskLeaves(name, mask, params, gs.length);
      const out = gs.map((g, i) => (on[i] ? keep(add(g, multiply(weightDecay, ps[i])), g) : g));
      return [treeUnflatten(def, out) as typeof updates, state];
    },
  };
}

/**
 * optax's `clip_by_global_norm`: when the L2 norm over all leaves exceeds `maxNorm`, scales every
 * leaf by `maxNorm / norm`.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const t = optim.clipByGlobalNorm(1);
 * const [u] = t.update([np.array([3, 4], { dtype: "float32" })], t.init([np.zeros([2])]));
 * if (Math.abs(u[0].dataSync()[1] - 0.8) > 1e-6) throw new Error();
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<Record<string, never>> {
  const op = "clipByGlobalNorm";
  checkNum(op, "maxNorm", maxNorm, 0);
  return {
    init: () => ({}),
    update(updates, state) {
      const [gs, def] = leavesOf(`${op}.update`, "updates", updates);
      if (gs.length === 0) return [updates, state];
      const norm = sqrt(gs.map((g) => sum(square(g))).reduce((a, b) => add(a, b)));
      const trigger = less(norm, maxNorm);
      const out = gs.map((g) => where(trigger, g, multiply(g.div(astype(norm, g.dtype)), maxNorm)));
      return [treeUnflatten(def, out.map((o, i) => keep(o, gs[i]))) as typeof updates, state];
    },
  };
}

/**
 * optax's `chain`: applies the transformations in order; the state is the array of their states.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.scaleByLearningRate(0.5));
 * const [u] = opt.update([np.array([3, 4], { dtype: "float32" })], opt.init([np.zeros([2])]));
 * if (Math.abs(u[0].dataSync()[0] + 0.3) > 1e-6) throw new Error();
 * ```
 */
export function chain(
  ...transforms: // deno-lint-ignore no-explicit-any
    GradientTransformation<any>[]
): GradientTransformation<unknown[]> {
  transforms.forEach((t, i) => {
    if (typeof t?.init !== "function" || typeof t?.update !== "function") {
      throw new TypeError(`chain: argument ${i} is not a gradient transformation`);
    }
  });
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update(updates, state, params) {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new TypeError(
          `chain.update: state must be the array of ${transforms.length} states made by init`,
        );
      }
      const out: unknown[] = [];
      let u = updates;
      transforms.forEach((t, i) => {
        const [nu, ns] = t.update(u, state[i], params);
        u = nu;
        out.push(ns);
      });
      return [u, out];
    },
  };
}

/**
 * optax's `apply_updates`: `params + updates` leaf by leaf, in each parameter's dtype.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const p = optim.applyUpdates({ w: np.array([1, 2], { dtype: "float32" }) }, { w: np.array([0.5, -1], { dtype: "float32" }) });
 * if (p.w.dataSync().join() !== "1.5,1") throw new Error();
 * ```
 */
export function applyUpdates<P>(params: P, updates: P): P {
  const op = "applyUpdates";
  const [ps, def] = leavesOf(op, "params", params);
  const us = matching(op, "updates", updates, def);
  return treeUnflatten(def, ps.map((p, i) => keep(add(p, us[i]), p))) as P;
}

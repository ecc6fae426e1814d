/**
 * `optim`: small optax-style optimizers over pytrees of Tensors. `sgd` (with optional momentum
 * and Nesterov momentum) and `adam`, each an `{ init, update }` pair of pure functions whose state
 * is itself a pytree of Tensors (moments plus an int32 step counter), so `update` can be jitted.
 *
 * @example One jitted Adam step per iteration
 * ```ts
 * import { jit, np, valueAndGrad } from "../mod.ts";
 * import * as optim from "./optim.ts";
 * const loss = (p: { w: np.Tensor }) => np.sum(np.square(p.w.sub(3)));
 * const opt = optim.adam({ lr: 0.1 });
 * let params = { w: np.zeros([2]) };
 * let state = opt.init(params);
 * const step = jit((p, s) => {
 *   const [l, g] = valueAndGrad(loss)(p);
 *   return [l, ...opt.update(g, s, p)];
 * });
 * for (let i = 0; i < 200; i++) [, params, state] = step(params, state);
 * if (Math.abs(params.w.dataSync()[0] - 3) > 1e-2) throw new Error("adam");
 * ```
 * @module
 */
import { Tensor } from "./tensor.ts";
import type { ArrayLike } from "./tensor.ts";
import { isFloat } from "./dtype.ts";
import { type TreeDef, treeDefEqual, treeFlatten, treeUnflatten } from "./tree.ts";
import { add, array, astype, multiply, power, sqrt, square, subtract, zerosLike } from "./numpy.ts";
import { checkOptions } from "./options.ts";

/**
 * A learning rate: a number, or a schedule mapping the int32 step counter (0 on the first
 * update) to a rate. Schedules are traced like the rest of `update`, so use `np` functions.
 */
export type LearningRate = number | ((step: Tensor) => ArrayLike);

/** An optimizer: pure `init` and `update` functions over a pytree of parameters. */
export interface Optimizer<S> {
  /** The initial state for `params` (zeros moments, step 0). */
  init<P>(params: P): S;
  /**
   * One step: the updated parameters (same structure and dtypes as `params`) and the new state.
   * `grads` must have the structure of `params`.
   */
  update<P>(grads: P, state: S, params: P): [P, S];
}

/** Options of {@linkcode sgd}. */
export interface SgdOptions {
  /** Learning rate or schedule. */
  lr: LearningRate;
  /** Momentum coefficient in [0, 1) (default 0: plain gradient descent, no velocity state). */
  momentum?: number;
  /** Nesterov momentum: step along `g + momentum * v` instead of `v` (default false). */
  nesterov?: boolean;
}

/** State of {@linkcode sgd}: the step counter and the velocity (null without momentum). */
export interface SgdState {
  /** Number of updates applied so far (int32 scalar). */
  step: Tensor;
  /** Velocity, a pytree like the parameters; null when `momentum` is 0. */
  velocity: unknown;
}

/** Options of {@linkcode adam}. */
export interface AdamOptions {
  /** Learning rate or schedule. */
  lr: LearningRate;
  /** Decay of the first-moment average (default 0.9). */
  b1?: number;
  /** Decay of the second-moment average (default 0.999). */
  b2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
}

/** State of {@linkcode adam}: the step counter and the two moment averages. */
export interface AdamState {
  /** Number of updates applied so far (int32 scalar). */
  step: Tensor;
  /** First-moment (mean) average, a pytree like the parameters. */
  mu: unknown;
  /** Second-moment (uncentred variance) average, a pytree like the parameters. */
  nu: unknown;
}

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;

/** Tensor leaves of a pytree; anything else (numbers included) is a TypeError naming `name`. */
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
      `${op}: ${name} leaves must be float32 or float64, leaf ${bad} has dtype ${
        out[0][bad].dtype
      }`,
    );
  }
  return out;
}

function sameStructure(op: string, def: TreeDef, other: TreeDef, name: string): void {
  if (!treeDefEqual(def, other)) {
    throw new TypeError(`${op}: ${name} has structure ${other} but params has structure ${def}`);
  }
}

function checkStep(op: string, step: unknown): Tensor {
  if (!(step instanceof Tensor) || step.ndim !== 0) {
    throw new TypeError(
      `${op}: state.step must be a scalar Tensor, got ${step}; make the state with init`,
    );
  }
  return step;
}

function checkRate(op: string, name: string, v: number, lo: number, hiOpen: number): void {
  if (typeof v !== "number" || !(v >= lo && v < hiOpen)) {
    throw new RangeError(`${op}: ${name} ${v} must be in [${lo}, ${hiOpen})`);
  }
}

function checkLr(op: string, lr: unknown): void {
  if (typeof lr === "function") return;
  if (typeof lr !== "number" || !Number.isFinite(lr)) {
    throw new TypeError(`${op}: lr must be a finite number or a schedule function, got ${lr}`);
  }
}

function rateAt(lr: LearningRate, step: Tensor): ArrayLike {
  return typeof lr === "function" ? lr(step) : lr;
}

/** `p - lr * u`, kept in the dtype of `p`. */
function descend(p: Tensor, u: Tensor, lr: ArrayLike): Tensor {
  const out = subtract(p, multiply(u, lr));
  return out.dtype === p.dtype ? out : astype(out, p.dtype);
}

/**
 * Stochastic gradient descent, optionally with (heavy-ball or Nesterov) momentum:
 * `v ← momentum·v + g`, then `p ← p − lr·v` (or `p ← p − lr·(g + momentum·v)` with Nesterov).
 *
 * @param opts `lr` (number or schedule), `momentum` (default 0), `nesterov` (default false).
 * @returns An optimizer whose state is {@linkcode SgdState}.
 * @example Plain gradient descent, by hand
 * ```ts
 * import { np } from "../mod.ts";
 * import * as optim from "./optim.ts";
 * const opt = optim.sgd({ lr: 0.5, momentum: 0.9 });
 * const p = { w: np.array([1, 2], { dtype: "float32" }) };
 * const s = opt.init(p);
 * const [p1, s1] = opt.update({ w: np.ones([2]) }, s, p);
 * if (p1.w.dataSync().join() !== "0.5,1.5" || s1.step.item() !== 1) throw new Error("sgd");
 * ```
 */
export function sgd(opts: SgdOptions): Optimizer<SgdState> {
  const op = "sgd";
  const { lr, momentum = 0, nesterov = false } = checkOptions(op, opts, [
    "lr",
    "momentum",
    "nesterov",
  ]);
  checkLr(op, lr);
  checkRate(op, "momentum", momentum, 0, 1);
  if (nesterov && momentum === 0) {
    throw new RangeError(`${op}: nesterov needs a positive momentum, got momentum ${momentum}`);
  }
  return {
    init(params) {
      const [leaves, def] = leavesOf(`${op}.init`, "params", params);
      const velocity = momentum === 0 ? null : treeUnflatten(def, leaves.map((p) => zerosLike(p)));
      return { step: array(0, { dtype: "int32" }), velocity };
    },
    update(grads, state, params) {
      const name = `${op}.update`;
      const [ps, def] = leavesOf(name, "params", params);
      const [gs, gdef] = leavesOf(name, "grads", grads);
      sameStructure(name, def, gdef, "grads");
      const step = checkStep(name, state?.step);
      const rate = rateAt(lr, step);
      let velocity: unknown = null;
      let dirs = gs;
      if (momentum !== 0) {
        const [vs, vdef] = leavesOf(name, "state.velocity", state.velocity);
        sameStructure(name, def, vdef, "state.velocity");
        const nv = vs.map((v, i) => add(multiply(v, momentum), gs[i]));
        dirs = nesterov ? nv.map((v, i) => add(gs[i], multiply(v, momentum))) : nv;
        velocity = treeUnflatten(def, nv);
      }
      const next = treeUnflatten(def, ps.map((p, i) => descend(p, dirs[i], rate)));
      return [next as typeof params, { step: add(step, 1), velocity }];
    },
  };
}

/**
 * Adam (Kingma & Ba): exponential averages of the gradient and its square with bias correction,
 * `p ← p − lr · m̂ / (√v̂ + eps)` where `m̂ = m / (1 − b1^t)`, `v̂ = v / (1 − b2^t)` at step `t ≥ 1`.
 *
 * @param opts `lr` (number or schedule), `b1` (0.9), `b2` (0.999), `eps` (1e-8).
 * @returns An optimizer whose state is {@linkcode AdamState}.
 * @example The first Adam step moves every weight by about `lr`
 * ```ts
 * import { np } from "../mod.ts";
 * import * as optim from "./optim.ts";
 * const opt = optim.adam({ lr: 0.01 });
 * const p = [np.array([1, -1], { dtype: "float32" })];
 * const [p1] = opt.update([np.array([5, -0.2], { dtype: "float32" })], opt.init(p), p);
 * const d = p1[0].dataSync();
 * if (Math.abs(d[0] - 0.99) > 1e-6 || Math.abs(d[1] + 0.99) > 1e-6) throw new Error("adam");
 * ```
 */
export function adam(opts: AdamOptions): Optimizer<AdamState> {
  const op = "adam";
  const { lr, b1 = 0.9, b2 = 0.999, eps = 1e-8 } = checkOptions(op, opts, [
    "lr",
    "b1",
    "b2",
    "eps",
  ]);
  checkLr(op, lr);
  checkRate(op, "b1", b1, 0, 1);
  checkRate(op, "b2", b2, 0, 1);
  if (typeof eps !== "number" || !(eps >= 0)) {
    throw new RangeError(`${op}: eps ${eps} must be a non-negative number`);
  }
  return {
    init(params) {
      const [leaves, def] = leavesOf(`${op}.init`, "params", params);
      const zeros = () => treeUnflatten(def, leaves.map((p) => zerosLike(p)));
      return { step: array(0, { dtype: "int32" }), mu: zeros(), nu: zeros() };
    },
    update(grads, state, params) {
      const name = `${op}.update`;
      const [ps, def] = leavesOf(name, "params", params);
      const [gs, gdef] = leavesOf(name, "grads", grads);
      sameStructure(name, def, gdef, "grads");
      const step = checkStep(name, state?.step);
      const [ms, mdef] = leavesOf(name, "state.mu", state.mu);
      const [vs, vdef] = leavesOf(name, "state.nu", state.nu);
      sameStructure(name, def, mdef, "state.mu");
      sameStructure(name, def, vdef, "state.nu");
      const rate = rateAt(lr, step);
      const t = astype(add(step, 1), "float32");
      const c1 = subtract(1, power(b1, t)); // bias corrections 1 - b^t
      const c2 = subtract(1, power(b2, t));
      const nm = ms.map((m, i) => add(multiply(m, b1), multiply(gs[i], 1 - b1)));
      const nv = vs.map((v, i) => add(multiply(v, b2), multiply(square(gs[i]), 1 - b2)));
      const next = ps.map((p, i) => {
        const dt = p.dtype;
        const mhat = nm[i].div(astype(c1, dt));
        const vhat = nv[i].div(astype(c2, dt));
        return descend(p, mhat.div(add(sqrt(vhat), eps)), rate);
      });
      return [
        treeUnflatten(def, next) as typeof params,
        { step: add(step, 1), mu: treeUnflatten(def, nm), nu: treeUnflatten(def, nv) },
      ];
    },
  };
}

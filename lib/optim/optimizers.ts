// The optimizers of optax as chains of gradient transformations, with optax's defaults.
import { checkOptions } from "../options.ts";
import {
  addDecayedWeights,
  chain,
  type GradientTransformation,
  type LearningRate,
  type Mask,
  scaleByAdam,
  scaleByLearningRate,
  scaleByLion,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  trace,
} from "./transforms.ts";

/** Common options of the optimizers: `learningRate` (a number or a schedule). */
export interface LearningRateOptions {
  /** Learning rate or schedule. */
  learningRate: LearningRate;
}

const lrOf = (op: string, o: { learningRate?: LearningRate }) => {
  if (o.learningRate === undefined) throw new TypeError(`${op}: learningRate is required`);
  return scaleByLearningRate(o.learningRate);
};
const pick = <T extends object>(o: T, keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k, v]) => keys.includes(k) && v !== undefined));

/**
 * optax's `sgd`: `chain(trace({ decay: momentum, nesterov }), scaleByLearningRate)`; without
 * `momentum` no trace is kept.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.sgd({ learningRate: 0.5, momentum: 0.9 });
 * const p = { w: np.array([1, 2], { dtype: "float32" }) };
 * const [u] = opt.update({ w: np.ones([2]) }, opt.init(p), p);
 * if (optim.applyUpdates(p, u).w.dataSync().join() !== "0.5,1.5") throw new Error();
 * ```
 */
export function sgd(
  opts: LearningRateOptions & { momentum?: number; nesterov?: boolean },
): GradientTransformation<unknown[]> {
  const op = "sgd";
  const o = checkOptions(op, opts, ["learningRate", "momentum", "nesterov"]);
  if (o.nesterov && o.momentum === undefined) {
    throw new RangeError(`${op}: nesterov needs a momentum`);
  }
  const parts: // deno-lint-ignore no-explicit-any
    GradientTransformation<any>[] = [];
  if (o.momentum !== undefined) {
    parts.push(trace({ decay: o.momentum, nesterov: o.nesterov ?? false }));
  }
  return chain(...parts, lrOf(op, o));
}

/** Options of {@link adam}. */
export interface AdamOptions extends LearningRateOptions {
  /** Decay of the first moment (default 0.9). */
  b1?: number;
  /** Decay of the second moment (default 0.999). */
  b2?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Added inside the square root (default 0). */
  epsRoot?: number;
}

/**
 * optax's `adam`: `chain(scaleByAdam({ b1: 0.9, b2: 0.999, eps: 1e-8, epsRoot: 0 }),
 * scaleByLearningRate)`. (optax's `nesterov` and `mu_dtype` options are not offered.)
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.adam({ learningRate: 0.01 });
 * const p = [np.array([1, -1], { dtype: "float32" })];
 * const [u] = opt.update([np.array([5, -0.2], { dtype: "float32" })], opt.init(p), p);
 * if (Math.abs(optim.applyUpdates(p, u)[0].dataSync()[0] - 0.99) > 1e-6) throw new Error();
 * ```
 */
export function adam(opts: AdamOptions): GradientTransformation<unknown[]> {
  const o = checkOptions("adam", opts, ["learningRate", "b1", "b2", "eps", "epsRoot"]);
  return chain(scaleByAdam(pick(o, ["b1", "b2", "eps", "epsRoot"])), lrOf("adam", o));
}

/**
 * optax's `adamw`: `chain(scaleByAdam, addDecayedWeights({ weightDecay: 1e-4, mask }),
 * scaleByLearningRate)` (decoupled weight decay, scaled by the learning rate as in optax).
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.adamw({ learningRate: 0.1, weightDecay: 0.5 });
 * const p = [np.array([2], { dtype: "float32" })];
 * const [u] = opt.update([np.zeros([1])], opt.init(p), p);
 * if (Math.abs(Number(u[0].item()) + 0.1) > 1e-6) throw new Error(); // -lr * wd * p
 * ```
 */
export function adamw(
  opts: AdamOptions & { weightDecay?: number; mask?: Mask },
): GradientTransformation<unknown[]> {
  const o = checkOptions("adamw", opts, [
    "learningRate",
    "b1",
    "b2",
    "eps",
    "epsRoot",
    "weightDecay",
    "mask",
  ]);
  return chain(
    scaleByAdam(pick(o, ["b1", "b2", "eps", "epsRoot"])),
    addDecayedWeights({ weightDecay: o.weightDecay ?? 1e-4, mask: o.mask }),
    lrOf("adamw", o),
  );
}

/**
 * optax's `rmsprop`: `scaleByRms` (or `scaleByStddev` when `centered`), an optional momentum
 * `trace`, then `scaleByLearningRate`. Defaults: decay 0.9, eps 1e-8, epsInSqrt true.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.rmsprop({ learningRate: 0.1, centered: true, momentum: 0.9 });
 * const p = [np.array([1], { dtype: "float32" })];
 * const [u] = opt.update([np.array([1], { dtype: "float32" })], opt.init(p), p);
 * if (!(Number(u[0].item()) < 0)) throw new Error();
 * ```
 */
export function rmsprop(
  opts: LearningRateOptions & {
    decay?: number;
    eps?: number;
    initialScale?: number;
    epsInSqrt?: boolean;
    centered?: boolean;
    momentum?: number;
    nesterov?: boolean;
    biasCorrection?: boolean;
  },
): GradientTransformation<unknown[]> {
  const op = "rmsprop";
  const o = checkOptions(op, opts, [
    "learningRate",
    "decay",
    "eps",
    "initialScale",
    "epsInSqrt",
    "centered",
    "momentum",
    "nesterov",
    "biasCorrection",
  ]);
  const parts: // deno-lint-ignore no-explicit-any
    GradientTransformation<any>[] = [
      o.centered
        ? scaleByStddev(pick(o, ["decay", "eps", "initialScale"]))
        : scaleByRms(pick(o, ["decay", "eps", "initialScale", "epsInSqrt", "biasCorrection"])),
    ];
  if (o.momentum !== undefined) {
    parts.push(trace({ decay: o.momentum, nesterov: o.nesterov ?? false }));
  }
  return chain(...parts, lrOf(op, o));
}

/**
 * optax's `adagrad`: `chain(scaleByRss({ initialAccumulatorValue: 0.1, eps: 1e-7 }), scaleByLearningRate)`.
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.adagrad({ learningRate: 1, initialAccumulatorValue: 0, eps: 0 });
 * const [u] = opt.update([np.array([4], { dtype: "float32" })], opt.init([np.zeros([1])]));
 * if (u[0].item() !== -1) throw new Error();
 * ```
 */
export function adagrad(
  opts: LearningRateOptions & { initialAccumulatorValue?: number; eps?: number },
): GradientTransformation<unknown[]> {
  const o = checkOptions("adagrad", opts, ["learningRate", "initialAccumulatorValue", "eps"]);
  return chain(scaleByRss(pick(o, ["initialAccumulatorValue", "eps"])), lrOf("adagrad", o));
}

/**
 * optax's `lion`: `chain(scaleByLion({ b1: 0.9, b2: 0.99 }), addDecayedWeights({ weightDecay:
 * 1e-3, mask }), scaleByLearningRate)`. (optax's `mu_dtype` is not offered.)
 *
 * @example
 * ```ts
 * import { np, optim } from "../../mod.ts";
 * const opt = optim.lion({ learningRate: 0.1, weightDecay: 0 });
 * const [u] = opt.update([np.array([0.2, -3], { dtype: "float32" })], opt.init([np.zeros([2])]), [np.zeros([2])]);
 * if (u[0].dataSync().join() !== [-0.1, 0.1].map(Math.fround).join()) throw new Error();
 * ```
 */
export function lion(
  opts: LearningRateOptions & { b1?: number; b2?: number; weightDecay?: number; mask?: Mask },
): GradientTransformation<unknown[]> {
  const o = checkOptions("lion", opts, ["learningRate", "b1", "b2", "weightDecay", "mask"]);
  return chain(
    scaleByLion(pick(o, ["b1", "b2"])),
    addDecayedWeights({ weightDecay: o.weightDecay ?? 1e-3, mask: o.mask }),
    lrOf("lion", o),
  );
}

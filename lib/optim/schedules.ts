// Learning-rate schedules with optax's formulas: functions of the int32 step count, written with
// np ops so they trace under jit (a JS number count works too).
import type { ArrayLike, Tensor } from "../tensor.ts";
import { checkOptions } from "../options.ts";
import {
  add,
  astype,
  cos,
  floor,
  greaterEqual,
  lessEqual,
  maximum,
  minimum,
  multiply,
  power,
  subtract,
  where,
} from "../numpy.ts";

/** A schedule: the step count (0 on the first update) to a value, traceable under jit. */
export type Schedule = (count: Tensor | number) => Tensor;

const f = (count: Tensor | number): Tensor => astype(count as ArrayLike, "float32");
const num = (op: string, name: string, v: unknown, ok = (x: number) => Number.isFinite(x)) => {
  if (typeof v !== "number" || !ok(v)) throw new RangeError(`${op}: ${name} ${v} is not valid`);
  return v;
};

/**
 * optax's `constant_schedule`: always `value`.
 *
 * @example
 * ```ts
 * import { optim } from "../../mod.ts";
 * if (optim.constant(0.1)(5).item() !== Math.fround(0.1)) throw new Error();
 * ```
 */
export function constant(value: number): Schedule {
  num("constant", "value", value);
  return (count) => multiply(f(count), 0).add(value);
}

/** Options of {@link exponentialDecay} (optax's names in camelCase). */
export interface ExponentialDecayOptions {
  /** Value at step 0. */
  initValue: number;
  /** Steps per factor of `decayRate`. */
  transitionSteps: number;
  /** Decay factor per `transitionSteps`. */
  decayRate: number;
  /** Steps before decay starts (default 0). */
  transitionBegin?: number;
  /** Decay in whole steps of `transitionSteps` (default false). */
  staircase?: boolean;
  /** Bound the value approaches (optional). */
  endValue?: number;
}

/**
 * optax's `exponential_decay`: `initValue · decayRate^((count − transitionBegin) / transitionSteps)`
 * (the exponent floored when `staircase`), `initValue` before `transitionBegin`, bounded by `endValue`.
 *
 * @example
 * ```ts
 * import { optim } from "../../mod.ts";
 * const s = optim.exponentialDecay({ initValue: 1, transitionSteps: 10, decayRate: 0.5 });
 * if (Math.abs((s(20).item() as number) - 0.25) > 1e-7) throw new Error();
 * ```
 */
export function exponentialDecay(opts: ExponentialDecayOptions): Schedule {
  const op = "exponentialDecay";
  const o = checkOptions(op, opts, [
    "initValue",
    "transitionSteps",
    "decayRate",
    "transitionBegin",
    "staircase",
    "endValue",
  ]);
  const init = num(op, "initValue", o.initValue);
  const steps = num(op, "transitionSteps", o.transitionSteps, (x) => x > 0);
  const rate = num(op, "decayRate", o.decayRate, (x) => x >= 0);
  const begin = o.transitionBegin ?? 0;
  return (count) => {
    const c = subtract(f(count), begin);
    let p = c.div(steps);
    if (o.staircase) p = floor(p);
    let v = where(lessEqual(c, 0), init, multiply(init, power(rate, p)));
    if (o.endValue !== undefined) v = rate < 1 ? maximum(v, o.endValue) : minimum(v, o.endValue);
    return v;
  };
}

/** Options of {@link cosineDecay}. */
export interface CosineDecayOptions {
  /** Value at step 0. */
  initValue: number;
  /** Steps over which to decay. */
  decaySteps: number;
  /** Final value as a fraction of `initValue` (default 0). */
  alpha?: number;
  /** Power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * optax's `cosine_decay_schedule`: `initValue · ((1 − alpha) · (½(1 + cos(π·min(count, decaySteps)/decaySteps)))^exponent + alpha)`.
 *
 * @example
 * ```ts
 * import { optim } from "../../mod.ts";
 * const s = optim.cosineDecay({ initValue: 2, decaySteps: 100 });
 * if (Math.abs((s(50).item() as number) - 1) > 1e-6 || s(500).item() !== 0) throw new Error();
 * ```
 */
export function cosineDecay(opts: CosineDecayOptions): Schedule {
  const op = "cosineDecay";
  const o = checkOptions(op, opts, ["initValue", "decaySteps", "alpha", "exponent"]);
  const init = num(op, "initValue", o.initValue);
  const steps = num(op, "decaySteps", o.decaySteps, (x) => x > 0);
  const alpha = o.alpha ?? 0, exponent = o.exponent ?? 1;
  return (count) => {
    const c = minimum(f(count), steps);
    const cosine = multiply(0.5, add(1, cos(multiply(c, Math.PI / steps))));
    return multiply(init, add(multiply(1 - alpha, power(cosine, exponent)), alpha));
  };
}

/** Options of {@link warmupCosineDecay}. */
export interface WarmupCosineDecayOptions {
  /** Value at step 0. */
  initValue: number;
  /** Value at the end of the warmup. */
  peakValue: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** Steps over which to decay. */
  decaySteps: number;
  /** Bound the value approaches (optional). */
  endValue?: number;
  /** Power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * optax's `warmup_cosine_decay_schedule`: linear from `initValue` to `peakValue` over
 * `warmupSteps`, then cosine decay to `endValue` at `decaySteps` (which counts the warmup).
 *
 * @example
 * ```ts
 * import { optim } from "../../mod.ts";
 * const s = optim.warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110 });
 * if (Math.abs((s(5).item() as number) - 0.5) > 1e-6 || Math.abs((s(10).item() as number) - 1) > 1e-6) throw new Error();
 * ```
 */
export function warmupCosineDecay(opts: WarmupCosineDecayOptions): Schedule {
  const op = "warmupCosineDecay";
  const o = checkOptions(op, opts, [
    "initValue",
    "peakValue",
    "warmupSteps",
    "decaySteps",
    "endValue",
    "exponent",
  ]);
  const init = num(op, "initValue", o.initValue);
  const peak = num(op, "peakValue", o.peakValue, (x) => Number.isFinite(x) && x !== 0);
  const warm = num(op, "warmupSteps", o.warmupSteps, (x) => x >= 0);
  const decay = num(op, "decaySteps", o.decaySteps, (x) => x > warm);
  const cosine = cosineDecay({
    initValue: peak,
    decaySteps: decay - warm,
    alpha: (o.endValue ?? 0) / peak,
    exponent: o.exponent ?? 1,
  });
  return (count) => {
    const c = f(count);
    const frac = warm === 0 ? 0 : subtract(1, minimum(maximum(c, 0), warm).div(warm));
    const linear = add(multiply(init - peak, frac), peak);
    return where(greaterEqual(c, warm), cosine(subtract(c, warm)), linear);
  };
}

/**
 * optax's `piecewise_constant_schedule`: `initValue` times the product of the scales of every
 * boundary the count has reached (`count >= boundary`).
 *
 * @example
 * ```ts
 * import { optim } from "../../mod.ts";
 * const s = optim.piecewiseConstant(1, { 10: 0.1, 20: 0.5 });
 * if (Math.abs((s(25).item() as number) - 0.05) > 1e-7 || s(9).item() !== 1) throw new Error();
 * ```
 */
export function piecewiseConstant(
  initValue: number,
  boundariesAndScales: Record<number, number> = {},
): Schedule {
  const op = "piecewiseConstant";
  num(op, "initValue", initValue);
  const entries = Object.entries(boundariesAndScales).map(([b, s]) => {
    const bn = Number(b);
    if (!Number.isInteger(bn) || bn < 0) throw new RangeError(`${op}: boundary ${b} is not a step`);
    return [bn, num(op, `scale of boundary ${b}`, s)] as const;
  }).sort((a, b) => a[0] - b[0]);
  return (count) => {
    const c = f(count);
    let v = multiply(c, 0).add(initValue);
    for (const [b, s] of entries) v = where(greaterEqual(c, b), multiply(v, s), v);
    return v;
  };
}

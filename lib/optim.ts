/**
 * `optim`: optax's model of optimizers. A {@link GradientTransformation} is a pair of pure
 * functions `init(params) → state` and `update(grads, state, params?) → [updates, state]`;
 * {@link chain} composes them and {@link applyUpdates} adds the updates to the parameters. States
 * are pytrees of Tensors (an int32 `count` plus moments), so a whole step can be jitted.
 * Formulas and defaults are optax's (hyperparameter names in camelCase); differences are noted
 * on each function.
 *
 * @example One jitted step: clip, AdamW, apply
 * ```ts
 * import { jit, np, optim, valueAndGrad } from "../mod.ts";
 * const loss = (p: { w: np.Tensor }) => np.sum(np.square(p.w.sub(3)));
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adamw({ learningRate: 0.1, weightDecay: 0 }));
 * let params = { w: np.zeros([2]) };
 * let state = opt.init(params);
 * const step = jit((p: typeof params, s: typeof state) => {
 *   const [l, g] = valueAndGrad(loss)(p);
 *   const [u, s2] = opt.update(g, s, p);
 *   return [optim.applyUpdates(p, u), s2, l] as const;
 * });
 * for (let i = 0; i < 200; i++) [params, state] = step(params, state);
 * if (Math.abs(params.w.dataSync()[0] - 3) > 1e-2) throw new Error("adamw");
 * ```
 * @module
 */
export * from "./optim/transforms.ts";
export * from "./optim/optimizers.ts";
export * from "./optim/schedules.ts";

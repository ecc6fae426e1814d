/**
 * The `nn` namespace: `jax.nn` activations (`relu`, `gelu`, `softmax`, ...), N-d convolutions
 * with mygrad / PyTorch semantics (`convNd`, `convTransposeNd`) and pooling (`maxPool`,
 * `avgPool`). All are compositions of primitives: differentiable to any order, vmappable and
 * jittable.
 *
 * @example A tiny conv layer
 * ```ts
 * import { np } from "../mod.ts";
 * import * as nn from "./nn.ts";
 * const x = np.ones([2, 3, 8, 8]);
 * const w = np.ones([4, 3, 3, 3]).mul(0.1);
 * const y = nn.maxPool(nn.relu(nn.convNd(x, w, { padding: "same" })), { window: 2 });
 * if (y.shape.join() !== "2,4,4,4") throw new Error("shape");
 * ```
 * @module
 */
export * from "./nn/activations.ts";
export * from "./nn/conv.ts";
export * from "./nn/pool.ts";
export * from "./nn/norm.ts";
export * as initializers from "./nn/initializers.ts";
export * as losses from "./nn/losses.ts";
export * as layers from "./nn/layers.ts";

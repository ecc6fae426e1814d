/**
 * The `lax` namespace: JAX's `jax.lax` convolution front-ends (`convGeneralDilated`, `conv`,
 * `convWithGeneralPadding`, `convTranspose`), `reduceWindow`, `erf`, and thin wrappers of the
 * structural and reduction primitives. Everything lowers onto existing primitives, so every
 * function is differentiable to any order, batchable with `vmap` and jittable.
 * @module
 */
export { erf } from "./lax/erf.ts";
export * from "./lax/conv.ts";
export * from "./lax/reduce_window.ts";
export * from "./lax/wrappers.ts";
export * from "./lax/indexing.ts";
export * from "./lax/sorting.ts";
export * from "./lax/control_flow.ts";
export * from "./lax/complex.ts";
export * as linalg from "./lax/linalg.ts";

/**
 * The `np` namespace as exported by `mod.ts`: the array functions plus the `Tensor` type.
 * @module
 */
export * from "./numpy.ts";
export { Tensor } from "./tensor.ts";

/**
 * The `np` namespace: NumPy's array API over tracegrad primitives, so every function is
 * differentiable, batchable and jittable.
 * @module
 */
import { registerNumpy } from "./tensor.ts";
import * as self from "./numpy.ts";

export * from "./numpy/creation.ts";
export * from "./numpy/math.ts";
export * from "./numpy/math_more.ts";
export * from "./numpy/reductions.ts";
export * from "./numpy/shape_ops.ts";
export * from "./numpy/shape_more.ts";
export * from "./numpy/linalg.ts";
export * as linalg from "./numpy/linalg_ns.ts";
export * from "./numpy/indexing.ts";
export * from "./numpy/sorting.ts";
export * from "./numpy/statistics.ts";
export * from "./numpy/stats.ts";
export * from "./numpy/complex.ts";
export type { ArrayOptions } from "./numpy/_convert.ts";

registerNumpy(self);

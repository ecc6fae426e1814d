/**
 * tracegrad: JAX-style composable transforms (grad, vjp, jvp, vmap, jit) over N-d arrays in
 * TypeScript, built around N-dimensional convolution. Runs on Deno, Bun, Node and browsers.
 *
 * @example Gradient of a small function
 * ```ts
 * import { grad, np } from "./mod.ts";
 * const f = (x: np.Tensor) => np.sum(np.tanh(x));
 * const g = grad(f)(np.array([0, 1], { dtype: "float32" }));
 * if (Math.abs(g.dataSync()[0] - 1) > 1e-6) throw new Error("grad");
 * ```
 * @module
 */
import "./lib/backend/reference.ts";
import "./lib/backend/cpu/backend.ts";
import * as np from "./lib/numpy_ns.ts";

export { np, np as numpy };
export { Tensor } from "./lib/tensor.ts";
export type { ArrayLike, NestedArray } from "./lib/tensor.ts";
export type { DType, TypedArray } from "./lib/dtype.ts";
export {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  stopGradient,
  valueAndGrad,
  vjp,
} from "./lib/api/autodiff.ts";
export type {
  GradFunction,
  GradOptions,
  JacobianFunction,
  JacobianOptions,
} from "./lib/api/autodiff.ts";
export { vmap } from "./lib/api/batching.ts";
export type { AxisSpec, VmapOptions } from "./lib/api/batching.ts";
export { jit, makeJaxpr } from "./lib/api/jit.ts";
export type { JitFunction, JitOptions, Lowered } from "./lib/api/jit.ts";
export { Jaxpr } from "./lib/ir.ts";
export { checkGrads } from "./lib/api/check_grads.ts";
export type { CheckGradsOptions } from "./lib/api/check_grads.ts";
export { customJvp, customVjp } from "./lib/api/custom.ts";
export { checkpoint, checkpointPolicies, remat } from "./lib/api/checkpoint.ts";
export type { CheckpointOptions, CheckpointPolicy } from "./lib/api/checkpoint.ts";
export * as random from "./lib/random.ts";
export type {
  AnyFunction,
  ArgGrads,
  ArgnumsOf,
  AuxOf,
  Deeper,
  Depth,
  Inputs,
  InputsOf,
  IsAny,
  IsUnion,
  JacobianOf,
  Tensors,
  Transformed,
} from "./lib/api/_types.ts";
export type {
  Aval,
  BDim,
  ContractionOpDef,
  ElementwiseOpDef,
  HostArray,
  IndexMap,
  LinearArg,
  OpDef,
  OpRules,
  OtherOpDef,
  ReadAt,
  ReduceOpDef,
  ReductionForm,
  StructuralOpDef,
} from "./lib/ops/_define.ts";
export type {
  JsTemplate,
  ScalarRender,
  ScalarTypes,
  WasmForm,
  WasmScalarOp,
  WgslOperands,
  WgslTemplate,
} from "./lib/ops/_render.ts";
export type { Expr, Idx } from "./lib/compile/kernel.ts";
export { UndefPrimal } from "./lib/ops/_define.ts";
export { Var } from "./lib/ir.ts";
export type { Eqn } from "./lib/ir.ts";
export type { AxisOptions, SliceSpec } from "./lib/numpy.ts";
export type { AtIndexer, AtOptions, GatherMode, IndexSpec } from "./lib/numpy.ts";
export { backendInfo, getBackend, init, setBackend } from "./lib/api/backends.ts";
export type { BackendInfo } from "./lib/api/backends.ts";
export { cacheStats, setCacheLimit } from "./lib/cache.ts";
export type { CacheKind, CacheStats } from "./lib/cache.ts";
export * as lax from "./lib/lax.ts";
export * as nn from "./lib/nn.ts";
export * as signal from "./lib/signal.ts";
export * as optim from "./lib/optim.ts";
export * as io from "./lib/io.ts";
export * as tree from "./lib/tree_ns.ts";
export { exportOnnx } from "./lib/onnx/export.ts";

/**
 * Regression tests of issue 17, items 6 and 7: misspelled or unknown options are TypeErrors naming
 * the function, the key and the closest valid name (every public function that takes an options
 * object); bad arguments fail at the call with the op's name; arrays too large to allocate are
 * RangeErrors naming the shape and the bytes.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGrads,
  customJvp,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  lax,
  nn,
  np,
  optim,
  random,
  signal,
  type Tensor,
  valueAndGrad,
  vmap,
} from "../mod.ts";

/** Asserts `call` throws a TypeError naming `op`, the bad key and (when given) the suggestion. */
function rejects(op: string, key: string, near: string | undefined, call: () => unknown): void {
  assert.throws(call, (e: Error) => {
    assert.ok(e instanceof TypeError, `${op}: expected a TypeError, got ${e}`);
    assert.ok(e.message.startsWith(`${op}: `), e.message);
    assert.ok(e.message.includes(`"${key}"`), e.message);
    if (near) assert.ok(e.message.includes(`did you mean "${near}"`), e.message);
    return true;
  });
}

const sq = (x: Tensor) => np.sum(x.mul(x));
const x3 = () => np.ones([1, 1, 5], { dtype: "float32" });
const w3 = () => np.ones([1, 1, 3], { dtype: "float32" });
const img = () => np.ones([1, 1, 4, 4], { dtype: "float32" });

test("transforms: unknown options are TypeErrors with the closest valid name", () => {
  rejects("grad", "argnum", "argnums", () => grad(sq, { argnum: 1 } as never));
  rejects("valueAndGrad", "has_aux", "hasAux", () => valueAndGrad(sq, { has_aux: true } as never));
  rejects("vmap", "in_axes", "inAxes", () => vmap(sq, { in_axes: 0 } as never));
  rejects("jit", "static_argnums", "staticArgnums", () => jit(sq, { static_argnums: 1 } as never));
  rejects(
    "jit",
    "staticArgnames",
    "staticArgnums",
    () => jit(sq, { staticArgnames: "c" } as never),
  );
  rejects("jit", "donateArgnums", undefined, () => jit(sq, { donateArgnums: 0 } as never));
  rejects("jacfwd", "argnum", "argnums", () => jacfwd(sq, { argnum: 0 } as never));
  rejects("jacrev", "argnum", "argnums", () => jacrev(sq, { argnum: 0 } as never));
  rejects("hessian", "argnum", "argnums", () => hessian(sq, { argnum: 0 } as never));
  rejects(
    "checkGrads",
    "orders",
    "order",
    () => checkGrads(sq, [np.ones([2])], { orders: 2 } as never),
  );
  rejects("customJvp", "jvpRule", "jvp", () => customJvp(sq, { jvpRule: sq } as never));
  rejects(
    "customVjp",
    "backward",
    undefined,
    () => customVjp(sq, { fwd: sq, bwd: sq, backward: sq } as never),
  );
});

test("grad({ argnum: 1 }) no longer differentiates argument 0", () => {
  rejects(
    "grad",
    "argnum",
    "argnums",
    () => grad((a: Tensor, b: Tensor) => a.mul(b), { argnum: 1 } as never),
  );
  const g = grad((a: Tensor, b: Tensor) => np.sum(a.mul(b)), { argnums: 1 });
  assert.deepEqual(
    Array.from(
      g(np.array([3], { dtype: "float32" }), np.array([5], { dtype: "float32" })).dataSync(),
    ),
    [3],
  );
});

test("checkGrads order 0 (checks nothing) and bad modes are RangeErrors", () => {
  assert.throws(
    () => checkGrads(sq, [np.ones([2])], { order: 0 }),
    /checkGrads: order must be an integer >= 1, got 0/,
  );
  assert.throws(() => checkGrads(sq, [np.ones([2])], { order: 1.5 }), RangeError);
  assert.throws(() => checkGrads(sq, [np.ones([2])], { modes: [] }), /checkGrads: modes/);
  assert.throws(() => checkGrads(sq, [np.ones([2])], { modes: ["back" as "rev"] }), RangeError);
});

test("np: unknown options are TypeErrors (np.sum({ axes }) no longer sums everything)", () => {
  const x = np.ones([2, 3]);
  rejects("sum", "axes", "axis", () => np.sum(x, { axes: 0 } as never));
  rejects("mean", "keepdim", "keepdims", () => np.mean(x, { keepdim: true } as never));
  rejects("max", "axes", "axis", () => np.max(x, { axes: 0 } as never));
  rejects("min", "axes", "axis", () => np.min(x, { axes: 0 } as never));
  rejects("prod", "axes", "axis", () => np.prod(x, { axes: 0 } as never));
  rejects("argmax", "axes", "axis", () => np.argmax(x, { axes: 0 } as never));
  rejects("argmin", "axes", "axis", () => np.argmin(x, { axes: 0 } as never));
  rejects("var", "dof", "ddof", () => np.var(x, { dof: 1 } as never));
  rejects("std", "dof", "ddof", () => np.std(x, { dof: 1 } as never));
  rejects("logsumexp", "axes", "axis", () => np.logsumexp(x, { axes: 0 } as never));
  rejects("sum", "axes", "axis", () => x.sum({ axes: 0 } as never));
  rejects("array", "dtpye", "dtype", () => np.array([1], { dtpye: "int32" } as never));
  rejects("zeros", "dtpye", "dtype", () => np.zeros([2], { dtpye: "int32" } as never));
  rejects("ones", "type", "dtype", () => np.ones([2], { type: "int32" } as never));
  rejects("full", "dtpye", "dtype", () => np.full([2], 1, { dtpye: "int32" } as never));
  rejects("fullLike", "dtpye", "dtype", () => np.fullLike(x, 1, { dtpye: "int32" } as never));
  rejects("fullLike", "dtpye", "dtype", () => np.zerosLike(x, { dtpye: "int32" } as never));
  rejects("arange", "dtpye", "dtype", () => np.arange(3, { dtpye: "int32" } as never));
  rejects(
    "linspace",
    "endPoint",
    "endpoint",
    () => np.linspace(0, 1, { endPoint: false } as never),
  );
  rejects("eye", "K", "k", () => np.eye(2, { K: 1 } as never));
  rejects(
    "pad",
    "constant_values",
    "constantValues",
    () => np.pad(x, 1, { constant_values: 2 } as never),
  );
  assert.deepEqual(Array.from(np.sum(x, { axis: 0 }).dataSync()), [2, 2, 2]);
});

test("lax: misspelled conv options (lhs_dilation) and a fourth dotGeneral argument are rejected", () => {
  rejects(
    "convGeneralDilated",
    "lhs_dilation",
    "lhsDilation",
    () => lax.convGeneralDilated(x3(), w3(), [1], [[0, 0]], { lhs_dilation: [2] } as never),
  );
  rejects(
    "convTranspose",
    "lhsDilation",
    "rhsDilation",
    () => lax.convTranspose(x3(), w3(), [1], "SAME", { lhsDilation: [2] } as never),
  );
  rejects(
    "reduceWindow",
    "window_dilation",
    "windowDilation",
    () =>
      lax.reduceWindow(x3(), 0, "sum", [1, 1, 2], [1, 1, 1], "VALID", {
        window_dilation: [1, 1, 2],
      } as never),
  );
  const a = np.ones([2, 3]), b = np.ones([3, 4]);
  const dims: [[number[], number[]], [number[], number[]]] = [[[1], [0]], [[], []]];
  rejects(
    "dotGeneral",
    "precision",
    undefined,
    () => lax.dotGeneral(a, b, dims, { precision: "highest" } as never),
  );
  assert.throws(
    () => (lax.dotGeneral as (...a: unknown[]) => Tensor)(a, b, dims, undefined, "float64"),
    /dotGeneral: expected at most 4 arguments/,
  );
  // the lhs dilation is applied (it was ignored under its snake_case name)
  const y = lax.convGeneralDilated(x3(), w3(), [1], [[0, 0]], { lhsDilation: [2] });
  assert.deepEqual(y.shape, [1, 1, 7]);
});

test("lax.dotGeneral preferredElementType gives float64 results and accumulation", () => {
  const a = np.array([[1e8, 1, -1e8]], { dtype: "float32" });
  const b = np.array([[1], [1], [1]], { dtype: "float32" });
  const dims: [[number[], number[]], [number[], number[]]] = [[[1], [0]], [[], []]];
  const y = lax.dotGeneral(a, b, dims, { preferredElementType: "float64" });
  assert.equal(y.dtype, "float64");
  assert.deepEqual(Array.from(y.dataSync()), [1]);
  assert.equal(
    lax.dotGeneral(np.ones([2, 3], { dtype: "int32" }), np.ones([3], { dtype: "int32" }), [[[1], [
      0,
    ]], [[], []]], {
      preferredElementType: "float32",
    }).dtype,
    "float32",
  );
});

test("nn, signal, random, optim: unknown options are TypeErrors", () => {
  rejects(
    "maxPool",
    "strides",
    "stride",
    () => nn.maxPool(img(), { window: 2, strides: 1 } as never),
  );
  rejects(
    "avgPool",
    "count_include_pad",
    "countIncludePad",
    () => nn.avgPool(img(), { window: 2, count_include_pad: false } as never),
  );
  rejects("convNd", "strides", "stride", () => nn.convNd(x3(), w3(), { strides: 2 } as never));
  rejects(
    "convTransposeNd",
    "output_padding",
    "outputPadding",
    () => nn.convTransposeNd(x3(), w3(), { output_padding: 1 } as never),
  );
  rejects("gelu", "approx", "approximate", () => nn.gelu(x3(), { approx: false } as never));
  rejects("softmax", "dim", undefined, () => nn.softmax(x3(), { dim: 0 } as never));
  rejects("logSoftmax", "axes", "axis", () => nn.logSoftmax(x3(), { axes: 0 } as never));
  rejects(
    "oneHot",
    "dtpye",
    "dtype",
    () => nn.oneHot(np.array([1]), 3, { dtpye: "int32" } as never),
  );
  rejects(
    "convolve",
    "modes",
    "mode",
    () => signal.convolve([1, 2], [1], { modes: "same" } as never),
  );
  rejects(
    "correlate",
    "modes",
    "mode",
    () => signal.correlate([1, 2], [1], { modes: "same" } as never),
  );
  rejects(
    "convolve2d",
    "fill_value",
    "fillvalue",
    () => signal.convolve2d([[1]], [[1]], { fill_value: 1 } as never),
  );
  rejects(
    "correlate2d",
    "boundry",
    "boundary",
    () => signal.correlate2d([[1]], [[1]], { boundry: "wrap" } as never),
  );
  const k = random.key(0);
  rejects("random.uniform", "min", "minval", () => random.uniform(k, [2], { min: 1 } as never));
  rejects(
    "random.normal",
    "dtpye",
    "dtype",
    () => random.normal(k, [2], { dtpye: "float32" } as never),
  );
  rejects(
    "adam",
    "weightDecay",
    undefined,
    () => optim.adam({ learningRate: 0.1, weightDecay: 0.01 } as never),
  );
  rejects("adam", "beta1", undefined, () => optim.adam({ learningRate: 0.1, beta1: 0.8 } as never));
  rejects(
    "sgd",
    "momentom",
    "momentum",
    () => optim.sgd({ learningRate: 0.1, momentom: 0.9 } as never),
  );
  // the maxPool stride is applied (it used stride 2 = the window under "strides")
  assert.deepEqual(nn.maxPool(img(), { window: 2, stride: 1 }).shape, [1, 1, 3, 3]);
});

test("transforms of a non-function fail at the transform call (TypeError)", () => {
  for (
    const [op, make] of [
      ["grad", () => grad("x" as never)],
      ["valueAndGrad", () => valueAndGrad(1 as never)],
      ["vmap", () => vmap(null as never)],
      ["jit", () => jit({} as never)],
      ["jacfwd", () => jacfwd("x" as never)],
      ["jacrev", () => jacrev("x" as never)],
      ["hessian", () => hessian("x" as never)],
      ["customJvp", () => customJvp("x" as never, { jvp: sq as never })],
      ["customJvp", () => customJvp(sq, {} as never)],
      ["customVjp", () => customVjp(sq, { fwd: sq as never } as never)],
    ] as const
  ) {
    assert.throws(
      make,
      (e: Error) => e instanceof TypeError && e.message.startsWith(`${op}: expected`),
      op,
    );
  }
  assert.throws(() => grad("x" as never), /grad: expected a function, got the string "x"/);
});

test("np.reshape(x, undefined) names the op and the argument", () => {
  assert.throws(
    () => np.reshape(np.ones([2, 3]), undefined as never),
    /^TypeError: reshape: shape must be/,
  );
  assert.throws(() => np.ones([2, 3]).reshape(undefined as never), /reshape: shape must be/);
});

test("arrays too large to allocate are RangeErrors naming the shape and bytes", () => {
  const huge = [1 << 20, 1 << 20]; // 2^40 elements
  for (
    const [op, call] of [
      ["zeros", () => np.zeros(huge)],
      ["full", () => np.full(huge, 1)],
      ["ones", () => np.ones(huge, { dtype: "float64" })],
      ["eye", () => np.eye(1 << 20)],
      ["arange", () => np.arange(2 ** 40)],
      ["broadcastInDim", () => np.broadcastTo(np.ones([1]), huge)],
      ["random", () => random.normal(random.key(0), huge)],
    ] as const
  ) {
    assert.throws(call, (e: Error) => {
      assert.ok(e instanceof RangeError, `${op}: ${e}`);
      assert.match(e.message, new RegExp(`^${op}: an array of shape \\[\\d+(,\\d+)*\\]`));
      assert.match(e.message, /needs \d+ bytes/);
      return true;
    });
  }
  assert.throws(
    () => np.zeros(huge),
    /shape \[1048576,1048576\] \(float32\) needs 4398046511104 bytes/,
  );
  // a conv output of 2^40 elements: the conv op names itself
  const x = np.ones([1 << 10, 1, 1 << 15], { dtype: "float32" });
  const w = np.ones([1 << 15, 1, 1], { dtype: "float32" });
  assert.throws(
    () => lax.convGeneralDilated(x, w, [1], "VALID"),
    /^RangeError: conv: an array of shape \[1024,32768,32768\] \(float32\) needs 4398046511104 bytes/,
  );
});

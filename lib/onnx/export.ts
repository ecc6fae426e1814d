/**
 * `exportOnnx(f, ...exampleArgs)`: the jitted program of `f` (its jaxpr for the example
 * arguments' shapes and dtypes, nested jit / customJvp bodies inlined) as an ONNX model, opset 17.
 * Inputs are the flattened argument leaves (`input_0`, ...), outputs the flattened results
 * (`output_0`, ...); constants become initializers. A primitive without an ONNX form is a
 * TypeError naming it.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Eqn, Jaxpr, Var } from "../ir.ts";
import type { Aval } from "../ops/_define.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import type { SelectParams, WindowParams } from "../ops/window.ts";
import type { DotParams } from "../ops/dot.ts";
import { makeJaxpr } from "../api/jit.ts";
import { encode as encodeData } from "../io/_dtypes.ts";
import { allocTyped } from "../dtype.ts";
import { GraphBuilder } from "./graph.ts";
import { gatherRule, scatterAddRule } from "./gather.ts";
import { ONNX_DTYPE, valueInfo, Writer } from "./proto.ts";

/** The ONNX opset the exporter targets. */
export const OPSET = 17;

type Rule = (g: GraphBuilder, ins: string[], e: Eqn) => string[];
const aval = (e: Eqn, i: number): Aval => e.inputs[i].aval;
const out = (e: Eqn, i = 0): Aval => e.outs[i].aval;
const unary = (op: string): Rule => (g, [x]) => [g.op(op, [x])];
const binary = (op: string): Rule => (g, [x, y]) => [g.op(op, [x, y])];
const boolOnly = (op: string): Rule => (g, ins, e) => {
  if (aval(e, 0).dtype !== "bool") {
    throw new TypeError(
      `exportOnnx: ${e.op.name} of ${aval(e, 0).dtype} has no ONNX form (bool only)`,
    );
  }
  return [g.op(op, ins)];
};
const one = (e: Eqn, dtype = out(e).dtype) => dtype;

const RULES: Record<string, Rule> = {
  neg: unary("Neg"),
  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  div: binary("Div"),
  pow: binary("Pow"),
  max: binary("Max"),
  min: binary("Min"),
  abs: unary("Abs"),
  sign: unary("Sign"),
  floor: unary("Floor"),
  ceil: unary("Ceil"),
  round: unary("Round"),
  exp: unary("Exp"),
  log: unary("Log"),
  log1p: (g, [x], e) => [g.op("Log", [g.op("Add", [x, g.scalar(1, one(e))])])],
  expm1: (g, [x], e) => [g.op("Sub", [g.op("Exp", [x]), g.scalar(1, one(e))])],
  sqrt: unary("Sqrt"),
  rsqrt: (g, [x]) => [g.op("Reciprocal", [g.op("Sqrt", [x])])],
  sin: unary("Sin"),
  cos: unary("Cos"),
  tan: unary("Tan"),
  tanh: unary("Tanh"),
  logistic: unary("Sigmoid"),
  isnan: unary("IsNaN"),
  isfinite: (g, [x]) => [g.op("Not", [g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])])])],
  not: boolOnly("Not"),
  and: boolOnly("And"),
  or: boolOnly("Or"),
  xor: boolOnly("Xor"),
  eq: binary("Equal"),
  ne: (g, ins) => [g.op("Not", [g.op("Equal", ins)])],
  lt: binary("Less"),
  le: binary("LessOrEqual"),
  gt: binary("Greater"),
  ge: binary("GreaterOrEqual"),
  select: (g, [c, x, y]) => [g.op("Where", [c, x, y])],
  convert: (g, [x], e) => [g.op("Cast", [x], { to: ONNX_DTYPE[out(e).dtype] })],
  stopGradient: unary("Identity"),
  reshape: (g, [x], e) => [g.reshape(x, out(e).shape)],
  transpose: (
    g,
    [x],
    e,
  ) => [g.op("Transpose", [x], { perm: (e.params as { perm: number[] }).perm })],
  broadcastInDim: (g, [x], e) => {
    const { shape, dims } = e.params as { shape: number[]; dims: number[] };
    const order = dims.map((d, i) => [d, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    if (order.some((v, i) => v !== i)) x = g.op("Transpose", [x], { perm: order });
    const inShape = aval(e, 0).shape;
    const mid = shape.map((_, d) => (dims.includes(d) ? inShape[dims.indexOf(d)] : 1));
    return [g.op("Expand", [g.reshape(x, mid), g.i64(shape)])];
  },
  slice: (g, [x], e) => {
    const { start, limit, strides } = e.params as {
      start: number[];
      limit: number[];
      strides: number[];
    };
    const axes = start.map((_, i) => i);
    return [g.op("Slice", [x, g.i64(start), g.i64(limit), g.i64(axes), g.i64(strides)])];
  },
  rev: (g, [x], e) => {
    const { axes } = e.params as { axes: number[] };
    if (axes.length === 0) return [g.op("Identity", [x])];
    const big = axes.map(() => -(2 ** 53));
    return [
      g.op("Slice", [
        x,
        g.i64(axes.map(() => -1)),
        g.i64(big),
        g.i64(axes),
        g.i64(axes.map(() => -1)),
      ]),
    ];
  },
  concatenate: (g, ins, e) => [g.op("Concat", ins, { axis: (e.params as { axis: number }).axis })],
  pad: (g, [x, v], e) => {
    const { lo, hi, interior } = e.params as { lo: number[]; hi: number[]; interior: number[] };
    const [xi, shape] = g.interior(x, aval(e, 0), interior, v);
    const axes = shape.map((_, i) => i);
    const [xc, pads] = g.crop(xi, shape, axes, lo.map((l, i) => [l, hi[i]]));
    return [
      g.op("Pad", [xc, g.i64([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]), v], {
        mode: "constant",
      }),
    ];
  },
  reduceSum: (g, [x], e) => {
    const { axes } = e.params as { axes: number[] };
    if (!axes.length) return [g.op("Identity", [x])];
    return [g.op("ReduceSum", [x, g.i64(axes)], { keepdims: 0 })];
  },
  reduceMax: (g, [x], e) => reduceAttr(g, "ReduceMax", x, e),
  reduceMin: (g, [x], e) => reduceAttr(g, "ReduceMin", x, e),
  argmax: (g, [x], e) => argReduce(g, "ArgMax", x, e),
  argmin: (g, [x], e) => argReduce(g, "ArgMin", x, e),
  dotGeneral: dotGeneral,
  conv: conv,
  reduceWindowMax: (g, [x], e) => [pool(g, x, aval(e, 0), out(e), e.params as WindowParams, false)],
  reduceWindowMin: (g, [x], e) => [pool(g, x, aval(e, 0), out(e), e.params as WindowParams, true)],
  selectAndGatherAdd: (g, [t, x], e) => [selectAnd(g, "gather", t, x, e)],
  selectAndScatterAdd: (g, [ct, x], e) => [selectAnd(g, "scatter", ct, x, e)],
  gather: gatherRule,
  scatterAdd: scatterAddRule,
};

function reduceAttr(g: GraphBuilder, op: string, x: string, e: Eqn): string[] {
  const { axes } = e.params as { axes: number[] };
  if (!axes.length) return [g.op("Identity", [x])];
  return [g.op(op, [x], { axes, keepdims: 0 })];
}

function argReduce(g: GraphBuilder, op: string, x: string, e: Eqn): string[] {
  const { axis } = e.params as { axis: number };
  const i = g.op(op, [x], { axis, keepdims: 0, select_last_index: 0 });
  return [g.op("Cast", [i], { to: ONNX_DTYPE[out(e).dtype] })];
}

function dotGeneral(g: GraphBuilder, [a, b]: string[], e: Eqn): string[] {
  const { contract, batch } = e.params as DotParams;
  const [as, bs] = [aval(e, 0).shape, aval(e, 1).shape];
  const free = (n: number, s: 0 | 1) =>
    [...Array(n).keys()].filter((i) => !contract[s].includes(i) && !batch[s].includes(i));
  const [fa, fb] = [free(as.length, 0), free(bs.length, 1)];
  const prod = (shape: number[], ax: number[]) => ax.reduce((p, i) => p * shape[i], 1);
  const B = prod(as, batch[0]), M = prod(as, fa), K = prod(as, contract[0]), N = prod(bs, fb);
  const at = g.reshape(g.op("Transpose", [a], { perm: [...batch[0], ...fa, ...contract[0]] }), [
    B,
    M,
    K,
  ]);
  const bt = g.reshape(g.op("Transpose", [b], { perm: [...batch[1], ...contract[1], ...fb] }), [
    B,
    K,
    N,
  ]);
  return [g.reshape(g.op("MatMul", [at, bt]), out(e).shape)];
}

function conv(g: GraphBuilder, [x, w]: string[], e: Eqn): string[] {
  const p = e.params as ConvParams;
  if (p.batchGroupCount !== 1) {
    throw new TypeError(
      `exportOnnx: conv with batchGroupCount ${p.batchGroupCount} has no ONNX form`,
    );
  }
  const dn = p.dimensionNumbers;
  const xa = aval(e, 0);
  let xc = g.op("Transpose", [x], { perm: dn.lhs });
  const wc = g.op("Transpose", [w], { perm: dn.rhs });
  const canon = { ...xa, shape: dn.lhs.map((d) => xa.shape[d]) };
  const k = [0, 0, ...p.lhsDilation.map((d) => d - 1)];
  let shape: number[];
  [xc, shape] = g.interior(xc, canon, k, g.scalar(0, xa.dtype));
  const spatial = p.padding.map((_, i) => i + 2);
  const [xp, pads] = g.crop(xc, shape, spatial, p.padding);
  const y = g.op("Conv", [xp, wc], {
    strides: p.windowStrides,
    dilations: p.rhsDilation,
    pads: [...pads.map((q) => q[0]), ...pads.map((q) => q[1])],
    group: p.featureGroupCount,
  });
  const inv = new Array(dn.out.length);
  dn.out.forEach((d, i) => (inv[d] = i));
  return [g.op("Transpose", [y], { perm: inv })];
}

/** Window geometry as ONNX pooling: trivial dims first, merged into N (C = 1). */
function poolLayout(op: string, a: Aval, p: WindowParams) {
  const rank = a.shape.length;
  const trivial = (d: number) =>
    p.window[d] === 1 && p.strides[d] === 1 && p.padding[d][0] === 0 && p.padding[d][1] === 0 &&
    p.windowDilation[d] === 1;
  if (p.baseDilation.some((d) => d !== 1)) {
    throw new TypeError(`exportOnnx: ${op} with base dilation has no ONNX form`);
  }
  if (p.padding.some(([lo, hi]) => lo < 0 || hi < 0)) {
    throw new TypeError(`exportOnnx: ${op} with negative padding has no ONNX form`);
  }
  const lead = [...Array(rank).keys()].filter(trivial),
    sp = [...Array(rank).keys()].filter((d) => !trivial(d));
  const perm = [...lead, ...sp];
  const inv = new Array(rank);
  perm.forEach((d, i) => (inv[d] = i));
  const P = lead.reduce((q, d) => q * a.shape[d], 1);
  const attrs = {
    kernel_shape: sp.map((d) => p.window[d]),
    strides: sp.map((d) => p.strides[d]),
    dilations: sp.map((d) => p.windowDilation[d]),
    pads: [...sp.map((d) => p.padding[d][0]), ...sp.map((d) => p.padding[d][1])],
  };
  const to = (g: GraphBuilder, x: string, shape: number[]) =>
    g.reshape(g.op("Transpose", [x], { perm }), [P, 1, ...sp.map((d) => shape[d])]);
  const from = (g: GraphBuilder, y: string, shape: number[]) =>
    g.op("Transpose", [g.reshape(y, perm.map((d) => shape[d]))], { perm: inv });
  return { sp, attrs, to, from };
}

function pool(g: GraphBuilder, x: string, a: Aval, o: Aval, p: WindowParams, min: boolean): string {
  const L = poolLayout("reduceWindow", a, p);
  if (!L.sp.length) return g.op("Identity", [x]);
  const xs = min ? g.op("Neg", [x]) : x;
  const y = g.op("MaxPool", [L.to(g, xs, a.shape)], L.attrs);
  const r = L.from(g, y, o.shape);
  return min ? g.op("Neg", [r]) : r;
}

function selectAnd(
  g: GraphBuilder,
  kind: "gather" | "scatter",
  v: string,
  x: string,
  e: Eqn,
): string {
  const p = e.params as SelectParams;
  const xa = aval(e, 1), va = aval(e, 0);
  const L = poolLayout(e.op.name, xa, p);
  const xs = p.select === "min" ? g.op("Neg", [x]) : x;
  const [, idx] = g.node("MaxPool", [L.to(g, xs, xa.shape)], L.attrs, 2);
  const flatIdx = g.reshape(idx, [-1]);
  if (kind === "gather") {
    const vt = g.reshape(L.to(g, v, va.shape), [-1]);
    const got = g.op("GatherElements", [vt, flatIdx], { axis: 0 });
    return L.from(g, got, out(e).shape);
  }
  const total = xa.shape.reduce((q, d) => q * d, 1);
  const zeroRaw = encodeData(allocTyped(va.dtype, 1), va.dtype);
  const zeros = g.op("ConstantOfShape", [g.i64([total])], {
    value: { tensor: { dtype: ONNX_DTYPE[va.dtype], dims: [1], raw: zeroRaw } },
  });
  const ct = g.reshape(L.to(g, v, va.shape), [-1]);
  const scattered = g.op("ScatterElements", [zeros, flatIdx, ct], { axis: 0, reduction: "add" });
  return L.from(g, scattered, xa.shape);
}

/** Replaces calls of programs (nested jit, customJvp/customVjp) by their bodies. */
function inlined(j: Jaxpr): Eqn[] {
  const eqns: Eqn[] = [];
  const walk = (jj: Jaxpr, sub: Map<Var, Var>) => {
    const r = (v: Var) => sub.get(v) ?? v;
    for (const e of jj.eqns) {
      const inner = e.op.callJaxpr?.(e.params);
      if (inner && inner.constVars.length === 0) {
        const m = new Map<Var, Var>();
        inner.inVars.forEach((v, i) => m.set(v, r(e.inputs[i])));
        walk(inner, m);
        inner.outs.forEach((v, i) => sub.set(e.outs[i], m.get(v) ?? v));
      } else eqns.push({ ...e, inputs: e.inputs.map(r) });
    }
    return r;
  };
  const r = walk(j, new Map());
  eqns.push(
    ...j.outs.map((v) => ({
      op: { name: "$out" } as Eqn["op"],
      inputs: [r(v)],
      params: null,
      outs: [],
    })),
  );
  return eqns;
}

/**
 * Exports the jitted program of `f` at the example arguments' shapes and dtypes as ONNX (opset
 * 17) model bytes: a forward pass, or a whole training step (`valueAndGrad` plus the optimizer
 * update). Inputs are the flattened argument leaves in pytree order (`input_0`, ...), outputs the
 * flattened results (`output_0`, ...). Elementwise ops, reductions, `dotGeneral`, convolutions
 * (every option: strides, padding, input and kernel dilation, feature groups, any layout),
 * max/min pooling and their gradients, movement ops, casts, `gather` (GatherND: `np.take`,
 * `x[idx]`, embedding lookups) and `scatterAdd` (ScatterND with reduction "add": their
 * gradients) are supported; anything else is a TypeError naming the primitive.
 *
 * @example A dense layer as ONNX
 * ```ts
 * import { exportOnnx, np } from "../../mod.ts";
 * const f = (x: np.Tensor, w: np.Tensor) => np.tanh(np.matmul(x, w));
 * const bytes = exportOnnx(f, np.ones([2, 3]), np.ones([3, 4]));
 * if (!(bytes instanceof Uint8Array) || bytes.length < 100) throw new Error();
 * ```
 */
export function exportOnnx(
  f: (...args: never[]) => unknown,
  ...exampleArgs: unknown[]
): Uint8Array {
  if (typeof f !== "function") {
    throw new TypeError(`exportOnnx: f must be a function, got ${typeof f}`);
  }
  const jp = makeJaxpr(f as (...a: unknown[]) => unknown)(...exampleArgs);
  const g = new GraphBuilder();
  const names = new Map<Var, string>();
  const outputs: Uint8Array[] = [];
  jp.constVars.forEach((v, i) => {
    const t = jp.consts[i] as Tensor;
    names.set(v, g.init(t.dtype, t.shape, encodeData(t._valuesSync(), t.dtype), `const_${i}`));
  });
  const graphInputs = jp.inVars.map((v, i) => {
    names.set(v, `input_${i}`);
    const w = new Writer();
    valueInfo(w, `input_${i}`, dtypeCode(v.aval.dtype), v.aval.shape);
    return w.finish();
  });
  let nOut = 0;
  for (const e of inlined(jp)) {
    const ins = e.inputs.map((v) => names.get(v)!);
    if (e.op.name === "$out") {
      const name = `output_${nOut++}`;
      g.nodeTo("Identity", ins, [name]);
      const w = new Writer();
      valueInfo(w, name, dtypeCode(e.inputs[0].aval.dtype), e.inputs[0].aval.shape);
      outputs.push(w.finish());
      continue;
    }
    const rule = RULES[e.op.name];
    if (!rule) throw new TypeError(`exportOnnx: primitive ${e.op.name} has no ONNX form`);
    rule(g, ins, e).forEach((n, i) => names.set(e.outs[i], n));
  }
  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, "tracegrad");
  model.message(8, (o) => o.string(1, "").int(2, OPSET));
  model.message(7, (gr) => {
    for (const n of g.nodes) gr.bytes(1, n);
    gr.string(2, "tracegrad");
    for (const t of g.inits) gr.bytes(5, t);
    for (const i of graphInputs) gr.bytes(11, i);
    for (const o of outputs) gr.bytes(12, o);
  });
  return model.finish();
}

function dtypeCode(d: string): number {
  const c = ONNX_DTYPE[d];
  if (c === undefined) throw new TypeError(`exportOnnx: dtype ${d} has no ONNX form`);
  return c;
}

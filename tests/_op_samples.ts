/**
 * Sample applications of every primitive in `OPS` for the conformance suite: argument shapes,
 * dtypes and value domains, params, and which derivative checks apply. Samples cover a 0-d case,
 * size-1 axes and, where the op allows, a size-0 axis. `missingSamples()` lists primitives without
 * samples; conformance_test.ts fails on any.
 * @module
 */
import { fromHost } from "../lib/core.ts";
import { type OpName, OPS } from "../lib/ops/registry.ts";
import type { DType } from "../lib/dtype.ts";
import { type ConvOptions, type Padding, resolveConvParams } from "../lib/ops/conv_params.ts";
import { np, type Tensor } from "../mod.ts";
import { windowOutputShape, type WindowParams } from "../lib/ops/window.ts";
import {
  CUM_SAMPLES,
  GATHER_SAMPLES,
  SCATTER_SAMPLES,
  SORT_SAMPLES,
} from "./_op_samples_gather.ts";
import { COMPLEX_SAMPLES } from "./_op_samples_complex.ts";
import { FFT_SAMPLES } from "./_op_samples_fft.ts";
import { LINALG_SAMPLES } from "./_op_samples_linalg.ts";

/** The float dtype a sample is built in (every "float" argument takes it). */
export type FloatDType = "float32" | "float64";

/** A uniform [0, 1) generator. */
export type Rng = () => number;

/** A deterministic uniform [0, 1) generator (mulberry32). */
export function makeRng(seed: number): Rng {
  let s = (seed * 0x9e3779b1 + 0x2545f491) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws one element value; float values are rounded to float32 so both float dtypes hold them exactly. */
export type ValueGen = (r: Rng) => number;

/** One argument of a sample. `"float"` means the sample's float dtype; only float args are differentiated. */
export interface ArgSpec {
  shape: number[];
  dtype: "float" | "int32" | "bool";
  gen: ValueGen;
}

/**
 * What derivative checks a sample gets: `smooth` = jvp vs finite differences and the vjp identity;
 * `zero` = the op's derivative is identically zero (jvp and vjp must give zeros); `none` = no float
 * inputs, nothing to differentiate (or, as an override, derivatives are NaN by design).
 */
export type Deriv = "smooth" | "zero" | "none";

/** One sample application of a primitive. */
export interface Sample {
  /** Readable label used in test names, e.g. `shape [2,3]`. */
  label: string;
  args: ArgSpec[];
  /** Params of the primitive, or a function of the float dtype. */
  params: unknown;
  /** Overrides the derivative category derived from the op and the argument dtypes. */
  deriv?: Deriv;
  /** false: skip the finite-difference check (kinks, ties, NaN); the vjp identity still runs. */
  fd?: boolean;
  /** Finite-difference step override (default 1e-6). */
  fdEps?: number;
  /** Argument indices vmap must leave unbatched (the op's batching rule does not support them). */
  unbatchable?: number[];
  /** false: float32 and float64 results are not comparable (e.g. random draws use different bits). */
  f32?: boolean;
}

/** All samples of one primitive. */
export interface OpSamples {
  /** false when the op's derivative is identically zero (comparisons, floor, argmax, random...). */
  differentiable: boolean;
  samples: Sample[];
  /**
   * Elementwise ops: the expected value per element, written independently of the op (float64;
   * tests/_op_oracles.ts holds the oracles of the other primitives).
   */
  oracle?: (...xs: number[]) => number;
  /**
   * Indices of the arguments that are complex: each is given (and drawn) as its storage view, a
   * float array [...s, 2] of (re, im) pairs; a complex result is compared as its storage view too.
   */
  complex?: number[];
}

const fr = Math.fround;
/** Uniform float in [lo, hi). */
export const uni = (lo: number, hi: number): ValueGen => (r) => fr(lo + (hi - lo) * r());
/** Float with |x| in [0.25, 2): away from 0 (abs, sign, divisors). */
export const away0: ValueGen = (r) => fr((r() < 0.5 ? -1 : 1) * (0.25 + 1.75 * r()));
/** Picks from a list (ties, special values). */
export const pick = (vals: number[]): ValueGen => (r) => vals[Math.floor(r() * vals.length)];
/** Integer in [lo, hi]. */
export const int = (lo: number, hi: number): ValueGen => (r) =>
  lo + Math.floor(r() * (hi - lo + 1));
const BOOL: ValueGen = (r) => (r() < 0.5 ? 0 : 1);
const STD = uni(-2, 2);

const F = (shape: number[], gen: ValueGen = STD): ArgSpec => ({ shape, dtype: "float", gen });
const I = (shape: number[], gen: ValueGen = int(-5, 5)): ArgSpec => ({
  shape,
  dtype: "int32",
  gen,
});
const B = (shape: number[]): ArgSpec => ({ shape, dtype: "bool", gen: BOOL });
const fmt = (s: number[]) => `[${s.join(",")}]`;
const S = (
  label: string,
  args: ArgSpec[],
  params: unknown = {},
  extra: Partial<Sample> = {},
): Sample => ({ label, args, params, ...extra });

/** Shapes used for elementwise samples: 2-d, 0-d, size-1 axis, size-0 axis. */
const UNARY_SHAPES = [[2, 3], [], [1, 4], [0, 3]];
const BINARY_SHAPES = [[2, 3], [], [3, 1], [0, 2]];

function unary(gen: ValueGen, extra: Sample[] = []): Sample[] {
  return [...UNARY_SHAPES.map((s) => S(`shape ${fmt(s)}`, [F(s, gen)])), ...extra];
}
function binary(g1: ValueGen, g2: ValueGen = g1, extra: Sample[] = []): Sample[] {
  return [...BINARY_SHAPES.map((s) => S(`shape ${fmt(s)}`, [F(s, g1), F(s, g2)])), ...extra];
}
const int1 = (label = "int32 [2,3]") => S(label, [I([2, 3])]);
const int2 = (label = "int32 [2,3]") => S(label, [I([2, 3]), I([2, 3])]);
const smooth = (samples: Sample[]): OpSamples => ({ differentiable: true, samples });
const flat = (samples: Sample[]): OpSamples => ({ differentiable: false, samples });

const SPECIAL = pick([NaN, Infinity, -Infinity, 0, -1.5, 2]);
const TIES = pick([-1, 0, 0.5, 1]);
const HALVES = pick([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.25, -0.75]);

function comparison(): OpSamples {
  return flat([
    ...BINARY_SHAPES.map((s) => S(`shape ${fmt(s)}`, [F(s, TIES), F(s, TIES)])),
    S("with NaN [2,3]", [F([2, 3], SPECIAL), F([2, 3], SPECIAL)]),
    int2(),
  ]);
}
function bitwise(): OpSamples {
  return flat([
    S("bool [2,3]", [B([2, 3]), B([2, 3])]),
    S("bool []", [B([]), B([])]),
    S("int32 [3,1]", [I([3, 1], int(-8, 8)), I([3, 1], int(-8, 8))]),
    S("bool [0,2]", [B([0, 2]), B([0, 2])]),
  ]);
}
function reduction(maxLike: boolean): OpSamples {
  const distinct = (shape: number[], axes: number[]) =>
    S(`shape ${fmt(shape)} axes ${fmt(axes)}`, [F(shape)], { axes });
  return smooth([
    distinct([2, 3], [1]),
    distinct([2, 3], [0, 1]),
    distinct([2, 1, 3], [0, 2]),
    distinct([], []),
    distinct([3, 0], [0]),
    ...(maxLike
      ? [
        S("ties [2,4] axes [1]", [F([2, 4], pick([0, 1]))], { axes: [1] }, { fd: false }),
        // NaN in a group makes the tangent NaN (0/0 over the argmax mask), as in JAX: no derivative checks.
        S("with NaN [2,3] axes [1]", [F([2, 3], SPECIAL)], { axes: [1] }, { deriv: "none" }),
      ]
      : [distinct([0, 3], [0])]),
    S("int32 [2,3] axes [0]", [I([2, 3])], { axes: [0] }),
  ]);
}
function argReduction(): OpSamples {
  return flat([
    S("shape [2,3] axis 1", [F([2, 3])], { axis: 1 }),
    S("shape [4] axis 0", [F([4])], { axis: 0 }),
    S("shape [2,1,3] axis 1", [F([2, 1, 3])], { axis: 1 }),
    S("shape [0,3] axis 1", [F([0, 3])], { axis: 1 }),
    S("ties [3,4] axis 1", [F([3, 4], pick([0, 1]))], { axis: 1 }),
    S("with NaN [2,3] axis 0", [F([2, 3], SPECIAL)], { axis: 0 }),
    S("int32 [2,3] axis 0", [I([2, 3])], { axis: 0 }),
  ]);
}
const dot = (
  label: string,
  a: number[],
  b: number[],
  contract: [number[], number[]],
  batch: [number[], number[]] = [[], []],
) => S(label, [F(a), F(b)], { contract, batch });
const key = (): ArgSpec => ({
  shape: [2],
  dtype: "int32",
  gen: (r) => (Math.floor(r() * 4294967296) | 0),
});
const draw = (
  dist: string,
  shape: number[],
  dtype: DType | "float",
  extra: Record<string, number> = {},
) =>
  S(
    `${dist} ${fmt(shape)}${Object.entries(extra).map(([k, v]) => ` ${k} ${v}`).join("")}`,
    [key()],
    (dt: FloatDType) => ({ dist, shape, dtype: dtype === "float" ? dt : dtype, ...extra }),
    { f32: false },
  );

const conv = (
  label: string,
  a: number[],
  b: number[],
  strides: number[],
  padding: Padding,
  opts: ConvOptions = {},
) => S(label, [F(a), F(b)], resolveConvParams(a, b, strides, padding, opts));

/** Window geometry: padding, base and window dilation default to none. */
const geo = (
  window: number[],
  strides: number[],
  padding: [number, number][] = window.map(() => [0, 0]),
  baseDilation = window.map(() => 1),
  windowDilation = window.map(() => 1),
): WindowParams => ({ window, strides, padding, baseDilation, windowDilation });

/** Window cases shared by the chooser primitives; `empty`: some windows hold no element. */
const WINDOW_CASES: {
  label: string;
  x: number[];
  g: WindowParams;
  gen?: ValueGen;
  empty?: true;
}[] = [
  { label: "2x2 stride 2 [1,1,4,4]", x: [1, 1, 4, 4], g: geo([1, 1, 2, 2], [1, 1, 2, 2]) },
  { label: "overlapping 3 stride 1 [5]", x: [5], g: geo([3], [1]) },
  { label: "padding and strides [2,5]", x: [2, 5], g: geo([2, 3], [1, 2], [[1, 0], [1, 2]]) },
  {
    label: "base and window dilation [5,3]",
    x: [5, 3],
    g: geo([2, 2], [1, 1], [[0, 0], [0, 0]], [1, 2], [2, 1]),
  },
  { label: "cropping pads [4,3]", x: [4, 3], g: geo([2, 1], [2, 1], [[-1, 0], [0, -1]]) },
  { label: "[]", x: [], g: geo([], []) },
  { label: "size-1 axis [1,3]", x: [1, 3], g: geo([1, 2], [1, 1]) },
  { label: "size-0 axis [0,3]", x: [0, 3], g: geo([1, 2], [1, 1]) },
  {
    label: "windows of holes only [2,4]",
    x: [2, 4],
    g: geo([1, 2], [1, 1], [[0, 0], [0, 0]], [1, 2], [1, 2]),
    empty: true,
  },
  {
    label: "36-tap window [6,7]",
    x: [6, 7],
    g: geo([6, 6], [1, 2], [[0, 0], [1, 0]], [1, 2]),
  },
  { label: "ties [2,4]", x: [2, 4], g: geo([1, 2], [1, 1]), gen: pick([0, 1]) },
  { label: "with NaN [4,4]", x: [4, 4], g: geo([2, 2], [1, 1]), gen: SPECIAL },
  {
    label: "with NaN, padded [3,4]",
    x: [3, 4],
    g: geo([2, 2], [1, 2], [[0, 1], [0, 0]]),
    gen: pick([NaN, NaN, 0, 1.5, -Infinity]),
  },
];

/** Samples of a chooser primitive over WINDOW_CASES (plus int32). */
function windowSamples(op: "reduce" | "gather" | "scatter", select: "max" | "min"): OpSamples {
  const samples = WINDOW_CASES.map(({ label, x, g, gen, empty }) => {
    const y = windowOutputShape("sample", x, g);
    const operand = F(x, gen ?? STD);
    const args = op === "reduce" ? [operand] : [F(op === "gather" ? x : y), operand];
    // finite differences fail at ties and NaN, and at windows whose extreme is -Infinity
    const fd = gen === undefined && !(op === "reduce" && empty);
    return S(label, args, op === "reduce" ? g : { ...g, select }, fd ? {} : { fd: false });
  });
  const g = geo([1, 2], [1, 1]);
  const ints = op === "reduce" ? [I([2, 3])] : [I(op === "gather" ? [2, 3] : [2, 2]), I([2, 3])];
  samples.push(S("int32 [2,3]", ints, op === "reduce" ? g : { ...g, select }));
  return smooth(samples);
}

/**
 * Samples of every primitive of `OPS`, by name (missing entries are a type error), plus primitives
 * defined in lib/ops but not registered yet (`PENDING_OPS` in conformance_test.ts).
 */
export const OP_SAMPLES: Record<OpName, OpSamples> & Record<string, OpSamples> = {
  neg: smooth([...unary(STD), int1()]),
  add: smooth([...binary(STD), int2()]),
  sub: smooth([...binary(STD), int2()]),
  mul: smooth([...binary(STD), int2()]),
  div: smooth(binary(STD, away0)),
  pow: smooth(binary(uni(0.5, 2), STD)),
  max: smooth([
    ...binary(STD),
    S("ties [2,2]", [F([2, 2], pick([1])), F([2, 2], pick([1]))], {}, { fd: false }),
    S("with NaN [2,3]", [F([2, 3], SPECIAL), F([2, 3], SPECIAL)], {}, { fd: false }),
    int2(),
  ]),
  min: smooth([
    ...binary(STD),
    S("ties [2,2]", [F([2, 2], pick([1])), F([2, 2], pick([1]))], {}, { fd: false }),
    S("with NaN [2,3]", [F([2, 3], SPECIAL), F([2, 3], SPECIAL)], {}, { fd: false }),
    int2(),
  ]),
  abs: smooth([...unary(away0), int1()]),
  sign: flat([...unary(away0), S("zeros and NaN [4]", [F([4], pick([0, NaN, 1, -1]))]), int1()]),
  floor: flat(unary(uni(-3, 3), [S("halves [2,4]", [F([2, 4], HALVES)])])),
  ceil: flat(unary(uni(-3, 3), [S("halves [2,4]", [F([2, 4], HALVES)])])),
  round: flat(unary(uni(-3, 3), [S("halves [2,4]", [F([2, 4], HALVES)])])),
  exp: smooth(unary(STD)),
  log: smooth(unary(uni(0.5, 3))),
  log1p: smooth(unary(uni(-0.5, 2))),
  expm1: smooth(unary(STD)),
  sqrt: smooth(unary(uni(0.5, 3))),
  rsqrt: smooth(unary(uni(0.5, 3))),
  sin: smooth(unary(uni(-3, 3))),
  cos: smooth(unary(uni(-3, 3))),
  tan: smooth(unary(uni(-1.2, 1.2))),
  tanh: smooth(unary(STD)),
  asin: smooth(unary(uni(-0.9, 0.9))),
  acos: smooth(unary(uni(-0.9, 0.9))),
  atan: smooth(unary(uni(-3, 3))),
  sinh: smooth(unary(STD)),
  cosh: smooth(unary(STD)),
  asinh: smooth(unary(uni(-3, 3))),
  acosh: smooth(unary(uni(1.1, 3))),
  atanh: smooth(unary(uni(-0.9, 0.9))),
  rem: smooth(binary(STD, away0, [
    S("int32 [2,3]", [I([2, 3], int(-9, 9)), I([2, 3], pick([-3, -2, -1, 1, 2, 3]))]),
  ])),
  logistic: smooth(unary(uni(-4, 4), [S("large |x| [4]", [F([4], pick([-30, -12, 12, 30]))])])),
  cbrt: {
    ...smooth(unary(away0, [S("cubes [4]", [F([4], pick([8, -27, 0.125, -1]))])])),
    oracle: (x) => (x < 0 ? -Math.pow(-x, 1 / 3) : Math.pow(x, 1 / 3)),
  },
  atan2: {
    ...smooth(binary(away0, STD, [
      S("axes [8]", [F([8], pick([0, 1, -1])), F([8], pick([1, -1]))], {}, { fd: false }),
    ])),
    oracle: (y, x) => {
      // atan(y/x) moved to the quadrant of (x, y)
      if (x > 0) return Math.atan(y / x);
      if (x < 0) return Math.atan(y / x) + (y >= 0 ? Math.PI : -Math.PI);
      return y > 0 ? Math.PI / 2 : y < 0 ? -Math.PI / 2 : 0;
    },
  },
  isnan: flat(unary(SPECIAL)),
  isfinite: flat(unary(SPECIAL)),
  not: flat([
    S("bool [2,3]", [B([2, 3])]),
    S("bool []", [B([])]),
    S("int32 [1,4]", [I([1, 4], int(-8, 8))]),
    S("bool [0,3]", [B([0, 3])]),
  ]),
  eq: comparison(),
  ne: comparison(),
  lt: comparison(),
  le: comparison(),
  gt: comparison(),
  ge: comparison(),
  and: bitwise(),
  or: bitwise(),
  xor: bitwise(),
  select: smooth([
    ...UNARY_SHAPES.map((s) => S(`shape ${fmt(s)}`, [B(s), F(s), F(s)])),
    S("int32 [2,2]", [B([2, 2]), I([2, 2]), I([2, 2])]),
  ]),
  convert: smooth([
    S("to float64 [2,3]", [F([2, 3])], { dtype: "float64" }),
    S("to float32 [1,3]", [F([1, 3])], { dtype: "float32" }, { fdEps: 0.5 }),
    S("to same float []", [F([])], (dt: FloatDType) => ({ dtype: dt })),
    S("to int32 [2,3]", [F([2, 3], uni(-3, 3))], { dtype: "int32" }, { deriv: "zero" }),
    S("to bool [0,2]", [F([0, 2], pick([0, 1]))], { dtype: "bool" }, { deriv: "zero" }),
    S("to bool [2,2]", [F([2, 2], pick([0, 1, -0.5, NaN]))], { dtype: "bool" }, { deriv: "zero" }),
    S("int32 to float [2,3]", [I([2, 3])], (dt: FloatDType) => ({ dtype: dt })),
    S("bool to float [3]", [B([3])], (dt: FloatDType) => ({ dtype: dt })),
  ]),
  stopGradient: flat(unary(STD)),
  broadcastInDim: smooth([
    S("[3] to [2,3]", [F([3])], { shape: [2, 3], dims: [1] }),
    S("[] to [2,3]", [F([])], { shape: [2, 3], dims: [] }),
    S("[3,1] to [3,4]", [F([3, 1])], { shape: [3, 4], dims: [0, 1] }),
    S("[2] to [2,1,3]", [F([2])], { shape: [2, 1, 3], dims: [0] }),
    S("[1] to [0]", [F([1])], { shape: [0], dims: [0] }),
    S("[0] to [2,0]", [F([0])], { shape: [2, 0], dims: [1] }),
  ]),
  reshape: smooth([
    S("[2,3] to [3,2]", [F([2, 3])], { shape: [3, 2] }),
    S("[] to [1,1]", [F([])], { shape: [1, 1] }),
    S("[1,4] to [4]", [F([1, 4])], { shape: [4] }),
    S("[6] to [2,1,3]", [F([6])], { shape: [2, 1, 3] }),
    S("[0,3] to [3,0]", [F([0, 3])], { shape: [3, 0] }),
  ]),
  transpose: smooth([
    S("[2,3] perm [1,0]", [F([2, 3])], { perm: [1, 0] }),
    S("[2,1,3] perm [2,0,1]", [F([2, 1, 3])], { perm: [2, 0, 1] }),
    S("[] perm []", [F([])], { perm: [] }),
    S("[0,2] perm [1,0]", [F([0, 2])], { perm: [1, 0] }),
  ]),
  slice: smooth([
    S("[5] 1:4", [F([5])], { start: [1], limit: [4], strides: [1] }),
    S("[4,5] strided", [F([4, 5])], { start: [0, 1], limit: [3, 5], strides: [2, 2] }),
    S("[3] empty result", [F([3])], { start: [1], limit: [1], strides: [1] }),
    S("[1,3] size-1 axis", [F([1, 3])], { start: [0, 1], limit: [1, 3], strides: [1, 1] }),
    S("[]", [F([])], { start: [], limit: [], strides: [] }),
    S("[0,3]", [F([0, 3])], { start: [0, 1], limit: [0, 3], strides: [1, 1] }),
  ]),
  pad: smooth([
    S("[3] lo 1 hi 2", [F([3]), F([])], { lo: [1], hi: [2], interior: [0] }, { unbatchable: [1] }),
    S(
      "[2,3] crop and interior",
      [F([2, 3]), F([])],
      { lo: [1, -1], hi: [0, 1], interior: [1, 0] },
      { unbatchable: [1] },
    ),
    S("[4] negative lo/hi with interior", [F([4]), F([])], { lo: [-1], hi: [-2], interior: [1] }, {
      unbatchable: [1],
    }),
    S("[]", [F([]), F([])], { lo: [], hi: [], interior: [] }, { unbatchable: [1] }),
    S("[0,2] padded", [F([0, 2]), F([])], { lo: [1, 0], hi: [1, 1], interior: [2, 0] }, {
      unbatchable: [1],
    }),
    S("[1,2] size-1 axis", [F([1, 2]), F([])], { lo: [0, 1], hi: [2, 0], interior: [3, 1] }, {
      unbatchable: [1],
    }),
  ]),
  concatenate: smooth([
    S("[2,3]+[1,3] axis 0", [F([2, 3]), F([1, 3])], { axis: 0 }),
    S("[2,1]+[2,2]+[2,0] axis 1", [F([2, 1]), F([2, 2]), F([2, 0])], { axis: 1 }),
    S("[0,2]+[1,2] axis 0", [F([0, 2]), F([1, 2])], { axis: 0 }),
    S("[3]+[2]", [F([3]), F([2])], { axis: 0 }),
    S("int32 [2]+[1]", [I([2]), I([1])], { axis: 0 }),
  ]),
  rev: smooth([
    S("[4] axes [0]", [F([4])], { axes: [0] }),
    S("[2,3] axes [0,1]", [F([2, 3])], { axes: [0, 1] }),
    S("[2,1,3] axes [2]", [F([2, 1, 3])], { axes: [2] }),
    S("[] axes []", [F([])], { axes: [] }),
    S("[0,3] axes [0]", [F([0, 3])], { axes: [0] }),
  ]),
  reduceSum: reduction(false),
  reduceMax: reduction(true),
  reduceMin: reduction(true),
  argmax: argReduction(),
  argmin: argReduction(),
  dotGeneral: smooth([
    dot("matmul [2,3]x[3,4]", [2, 3], [3, 4], [[1], [0]]),
    dot("batched [2,2,3]x[2,3,1]", [2, 2, 3], [2, 3, 1], [[2], [1]], [[0], [0]]),
    dot("outer [3]x[2]", [3], [2], [[], []]),
    dot("inner [3]x[3] to []", [3], [3], [[0], [0]]),
    dot("scalars []x[]", [], [], [[], []]),
    dot("size-0 contraction [2,0]x[0,3]", [2, 0], [0, 3], [[1], [0]]),
    dot("transposed operands [3,2]x[4,3]", [3, 2], [4, 3], [[0], [1]]),
    dot("two contracting axes [2,3,2]x[3,2]", [2, 3, 2], [3, 2], [[1, 2], [0, 1]]),
    dot("trailing batch axis [3,2]x[2,3,4]", [3, 2], [2, 3, 4], [[0], [1]], [[1], [0]]),
    S("int32 [2,2]x[2,3]", [I([2, 2]), I([2, 3])], { contract: [[1], [0]], batch: [[], []] }),
  ]),
  conv: smooth([
    conv("1-d VALID [1,1,5]*[2,1,3]", [1, 1, 5], [2, 1, 3], [1], "VALID"),
    conv("2-d NHWC stride [2,1] SAME", [1, 3, 3, 2], [2, 2, 2, 3], [2, 1], "SAME", {
      dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
    }),
    conv("dilations and cropping pads", [1, 2, 5], [2, 2, 2], [1], [[1, -1]], {
      lhsDilation: [2],
      rhsDilation: [2],
    }),
    conv("feature groups 2", [2, 4, 4], [6, 2, 2], [1], [[1, 0]], { featureGroupCount: 2 }),
    conv("batch groups 2", [4, 2, 3], [4, 2, 2], [1], "VALID", { batchGroupCount: 2 }),
    conv("no spatial dims (dot)", [3, 4], [5, 4], [], "VALID"),
    conv("size-0 batch", [0, 2, 4], [3, 2, 2], [2], "VALID"),
    conv("size-1 everything", [1, 1, 1], [1, 1, 1], [1], "VALID"),
  ]),
  reduceWindowMax: windowSamples("reduce", "max"),
  reduceWindowMin: windowSamples("reduce", "min"),
  selectAndGatherAdd: windowSamples("gather", "max"),
  selectAndScatterAdd: windowSamples("scatter", "min"),
  random: flat([
    draw("uniform", [2, 3], "float"),
    draw("normal", [4], "float"),
    draw("uniform", [], "float"),
    draw("uniform", [3, 2], "float", { low: -2, high: 3 }),
    draw("normal", [0, 2], "float"),
    draw("bits", [3], "int32"),
    draw("split", [4], "int32"),
    draw("foldIn", [2], "int32", { data: 7 }),
    draw("foldIn", [2], "int32", { data: 4294967295 }),
  ]),
  ...LINALG_SAMPLES,
  gather: GATHER_SAMPLES,
  ...SCATTER_SAMPLES,
  sort: SORT_SAMPLES,
  ...FFT_SAMPLES,
  ...CUM_SAMPLES,
  ...COMPLEX_SAMPLES,
};

/** The params of a sample for the float dtype `dt`. */
export function paramsOf(s: Sample, dt: FloatDType): unknown {
  return typeof s.params === "function" ? (s.params as (d: FloatDType) => unknown)(dt) : s.params;
}

/** The derivative category of a sample of op `name`. */
export function derivOf(name: string, s: Sample): Deriv {
  if (!s.args.some((a) => a.dtype === "float")) return "none";
  if (s.deriv) return s.deriv;
  return OP_SAMPLES[name].differentiable ? "smooth" : "zero";
}

/** The concrete dtype of an argument in a sample built for `dt`. */
export function argDType(a: ArgSpec, dt: FloatDType): DType {
  return a.dtype === "float" ? dt : a.dtype;
}

/** Draws the values of one argument (same values for either float dtype). */
export function argValues(a: ArgSpec, r: Rng): number[] {
  const n = a.shape.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => a.gen(r));
}

/** A sample's arguments with its float arguments in `floatDtype` (the same values, rounded). */
export function sampleArgsAs(s: Sample, floatDtype: DType, seed: number): Tensor[] {
  const r = makeRng(seed);
  return s.args.map((a) => {
    const v = argValues(a, r);
    const t = a.dtype === "float"
      ? np.array(v, { dtype: floatDtype })
      : a.dtype === "bool"
      ? np.array(v.map((x) => (x ? 1 : 0)), { dtype: "int32" }).astype("bool")
      : np.array(v, { dtype: a.dtype });
    return t.reshape(a.shape);
  });
}

/** Builds the arguments of a sample in float dtype `dt`; `seed` picks the values. */
export function buildArgs(s: Sample, dt: FloatDType, seed: number): Tensor[] {
  const r = makeRng(seed);
  return s.args.map((a) => hostTensor(argValues(a, r), a.shape, argDType(a, dt)));
}

/** A concrete Tensor from plain numbers. */
export function hostTensor(values: ArrayLike<number>, shape: number[], dtype: DType): Tensor {
  const data = dtype === "float64"
    ? Float64Array.from(values)
    : dtype === "float32"
    ? Float32Array.from(values)
    : dtype === "int32"
    ? Int32Array.from(values)
    : Uint8Array.from(values, (v) => (v ? 1 : 0));
  return fromHost(data, shape, dtype);
}

/** Names of primitives in `OPS` that have no samples (must be empty). */
export function missingSamples(): string[] {
  const table = OP_SAMPLES as Record<string, OpSamples | undefined>;
  return Object.keys(OPS).filter((k) => !table[k] || table[k]!.samples.length === 0);
}

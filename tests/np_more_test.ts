/**
 * Conformance of the composite "More of np" functions (lib/numpy/math_more.ts, shape_more.ts,
 * stats.ts, einsum): for each, jvp and vjp against finite differences in float64 (where JAX's is
 * differentiable), vmap against a loop, jit against eager, and the compiled CPU backend against
 * the reference backend. Values against NumPy are in np_fixtures_test.ts (np_more.json).
 * @module
 */
import "./_backend.ts";
import { describe, test } from "node:test";
import { checkGrads, getBackend, jit, np, setBackend, type Tensor, vmap } from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";
import { makeRng } from "./_op_samples.ts";

type Fn = (...xs: Tensor[]) => Tensor;
interface Case {
  name: string;
  f: Fn;
  shapes: number[][];
  /** Value range of the random inputs (default [-2, 2]). */
  range?: [number, number];
  /** Skip the gradient check (not differentiable, or integer/bool valued). */
  noGrad?: boolean;
}

/** x with NaN where x > 1 and -Infinity where x < -1.5 (their tangents are zero). */
const holes = (x: Tensor) =>
  np.where(np.greater(x, 1), NaN, np.where(np.less(x, -1.5), -Infinity, x));

/** x with NaN where x > 1.5 (tangent zero). */
const nans = (x: Tensor) => np.where(np.greater(x, 1.5), NaN, x);

const CASES: Case[] = [
  { name: "arcsin", f: (a) => np.arcsin(a), shapes: [[2, 3]], range: [-0.9, 0.9] },
  { name: "arccos", f: (a) => np.arccos(a), shapes: [[3]], range: [-0.9, 0.9] },
  { name: "arctan", f: (a) => np.arctan(a), shapes: [[3]] },
  { name: "sinh", f: (a) => np.sinh(a), shapes: [[3]] },
  { name: "cosh", f: (a) => np.cosh(a), shapes: [[3]] },
  { name: "arcsinh", f: (a) => np.arcsinh(a), shapes: [[3]] },
  { name: "arccosh", f: (a) => np.arccosh(a), shapes: [[3]], range: [1.1, 3] },
  { name: "arctanh", f: (a) => np.arctanh(a), shapes: [[3]], range: [-0.9, 0.9] },
  { name: "fmod", f: (a, b) => np.fmod(a, np.add(b, 3)), shapes: [[2, 3], [3]] },
  { name: "remainder", f: (a, b) => np.remainder(a, np.subtract(b, 3)), shapes: [[2, 3], [3]] },
  {
    name: "floorDivide",
    f: (a, b) => np.floorDivide(a, np.add(b, 3)),
    shapes: [[4], [4]],
    noGrad: true,
  },
  { name: "hypot", f: (a, b) => np.hypot(a, b), shapes: [[2, 3], [3]], range: [0.5, 2] },
  { name: "copysign", f: (a, b) => np.copysign(a, b), shapes: [[4], [4]], range: [0.5, 2] },
  { name: "logaddexp", f: (a, b) => np.logaddexp(a, b), shapes: [[2, 3], [2, 3]] },
  { name: "log2", f: (a) => np.log2(a), shapes: [[3]], range: [0.5, 3] },
  { name: "log10", f: (a) => np.log10(a), shapes: [[3]], range: [0.5, 3] },
  { name: "exp2", f: (a) => np.exp2(a), shapes: [[3]] },
  { name: "deg2rad", f: (a) => np.deg2rad(a), shapes: [[3]] },
  { name: "rad2deg", f: (a) => np.rad2deg(a), shapes: [[3]] },
  { name: "trunc", f: (a) => np.trunc(a), shapes: [[5]], noGrad: true },
  { name: "nanToNum", f: (a) => np.nanToNum(holes(a)), shapes: [[4]] },
  {
    name: "isclose",
    f: (a, b) => np.isclose(a, b, { atol: 0.5 }),
    shapes: [[4], [4]],
    noGrad: true,
  },
  { name: "all", f: (a) => np.all(np.greater(a, -1), { axis: 1 }), shapes: [[3, 4]], noGrad: true },
  { name: "any", f: (a) => np.any(np.greater(a, 1), { axis: 0 }), shapes: [[3, 4]], noGrad: true },
  { name: "diff", f: (a) => np.diff(a, { n: 2, axis: 0 }), shapes: [[4, 3]] },
  { name: "roll", f: (a) => np.roll(a, [1, -2], { axis: [0, 1] }), shapes: [[3, 4]] },
  { name: "tile", f: (a) => np.tile(a, [2, 1, 2]), shapes: [[2, 3]] },
  { name: "repeat", f: (a) => np.repeat(a, [1, 0, 2], { axis: 1 }), shapes: [[2, 3]] },
  { name: "hstack", f: (a, b) => np.hstack([a, b]), shapes: [[2, 3], [2, 1]] },
  { name: "vstack", f: (a, b) => np.vstack([a, b]), shapes: [[3], [3]] },
  { name: "dstack", f: (a, b) => np.dstack([a, b]), shapes: [[2, 3], [2, 3]] },
  { name: "columnStack", f: (a, b) => np.columnStack([a, b]), shapes: [[3], [3, 2]] },
  { name: "arraySplit", f: (a) => np.arraySplit(a, 3)[1], shapes: [[7, 2]] },
  { name: "triu", f: (a) => np.triu(a, { k: 1 }), shapes: [[2, 3, 4]] },
  { name: "tril", f: (a) => np.tril(a), shapes: [[4, 3]] },
  { name: "diag 1-d", f: (a) => np.diag(a, { k: -1 }), shapes: [[3]] },
  { name: "diag 2-d", f: (a) => np.diag(a, { k: 1 }), shapes: [[3, 4]] },
  { name: "diagonal", f: (a) => np.diagonal(a, { axis1: 2, axis2: 0 }), shapes: [[3, 2, 4]] },
  { name: "trace", f: (a) => np.trace(a, { offset: -1 }), shapes: [[4, 4]] },
  { name: "meshgrid", f: (a, b) => np.meshgrid(a, b)[0], shapes: [[3], [2]] },
  { name: "kron", f: (a, b) => np.kron(a, b), shapes: [[2, 2], [3]] },
  { name: "cross", f: (a, b) => np.cross(a, b), shapes: [[2, 3], [3]] },
  {
    name: "pad symmetric",
    f: (a) => np.pad(a, [[2, 1], [0, 3]], { mode: "symmetric" }),
    shapes: [[2, 3]],
  },
  { name: "pad wrap", f: (a) => np.pad(a, 2, { mode: "wrap" }), shapes: [[3]] },
  { name: "nansum", f: (a) => np.nansum(nans(a), { axis: 0 }), shapes: [[3, 2]] },
  { name: "nanmean", f: (a) => np.nanmean(nans(a), { axis: 1 }), shapes: [[2, 5]] },
  { name: "nanmax", f: (a) => np.nanmax(nans(a), { axis: 1 }), shapes: [[3, 4]] },
  { name: "nanmin", f: (a) => np.nanmin(nans(a)), shapes: [[3, 4]] },
  {
    name: "average",
    f: (a, w) => np.average(a, { axis: 0, weights: np.exp(w) }),
    shapes: [[3, 2], [3]],
  },
  { name: "cov", f: (a) => np.cov(a), shapes: [[2, 5]] },
  { name: "corrcoef", f: (a) => np.corrcoef(a), shapes: [[3, 5]] },
  {
    name: "interp",
    f: (x, fp) => np.interp(x, [-1, 0, 0.5, 2], fp),
    shapes: [[5], [4]],
    range: [-1.5, 2.5],
  },
  {
    name: "interp period",
    f: (x, fp) => np.interp(x, [0.75, -1, 0, 2.5], fp, { period: 4 }),
    shapes: [[5], [4]],
    range: [-5.5, 5.5],
  },
  { name: "polyval", f: (p, x) => np.polyval(p, x), shapes: [[3], [2, 2]] },
  { name: "convolve", f: (a, v) => np.convolve(a, v, { mode: "same" }), shapes: [[5], [3]] },
  { name: "correlate", f: (a, v) => np.correlate(a, v, { mode: "full" }), shapes: [[2], [4]] },
  {
    name: "einsum ...",
    f: (a, b) => np.einsum("...ij,jk->...ki", a, b),
    shapes: [[2, 2, 3], [3, 2]],
  },
  { name: "einsum ii,ij", f: (a, b) => np.einsum("ii,ij->j", a, b), shapes: [[3, 3], [3, 2]] },
];

function inputs(c: Case, dtype: "float32" | "float64", seed: number, batch?: number): Tensor[] {
  const r = makeRng(seed);
  const [lo, hi] = c.range ?? [-2, 2];
  return c.shapes.map((s) => {
    const shape = batch === undefined ? s : [batch, ...s];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
    return np.array(data, { dtype, shape });
  });
}

function onBackend<T>(name: string, f: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend(prev);
  }
}

describe("np composites: grads, vmap, jit, backends", () => {
  for (const c of CASES) {
    if (!c.noGrad) {
      test(`${c.name}: jvp and vjp vs finite differences (float64)`, () => {
        checkGrads(c.f, inputs(c, "float64", 7), { eps: 1e-6, atol: 1e-6, rtol: 1e-5 });
      });
    }
    test(`${c.name}: vmap equals a loop`, async () => {
      const xs = inputs(c, "float32", 11, 3);
      const out = vmap(c.f)(...xs);
      const rows = [0, 1, 2].map((i) => c.f(...xs.map((x) => x.slice(i))));
      await assertAllClose(out, np.stack(rows).dataSync() as Float32Array, {
        rtol: 1e-5,
        atol: 1e-6,
      });
    });
    test(`${c.name}: jit equals eager; ${getBackend()} equals the reference backend`, async () => {
      const xs = inputs(c, "float32", 13);
      const want = onBackend("reference", () => Array.from(c.f(...xs).dataSync() as Float32Array));
      await assertAllClose(c.f(...xs), want, { rtol: 1e-5, atol: 1e-6 });
      await assertAllClose(jit(c.f)(...xs), want, { rtol: 1e-5, atol: 1e-6 });
    });
  }
});

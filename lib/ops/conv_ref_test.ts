// Tests of the reference convolution against NumPy fixtures (tests/fixtures/conv_cases.json), of
// the JAX transpose rules (convLhsGradParams / convRhsGradParams) against NumPy VJPs, and of NaN
// locality.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import data from "../../tests/fixtures/conv_cases.json" with { type: "json" };
import {
  type ConvOptions,
  convOutputShape,
  type ConvParams,
  type Padding,
  resolveConvParams,
} from "./conv_params.ts";
import { convLhsGradParams, convRhsGradParams } from "./conv_grad_params.ts";
import {
  applyGroupMove,
  applyLhsGradRhsTransform,
  convGeneralDilatedRef,
  reverseAxes,
} from "./conv_ref.ts";

interface FixtureCase {
  name: string;
  lhsShape: number[];
  rhsShape: number[];
  windowStrides: number[];
  padding: Padding;
  opts: ConvOptions;
  resolvedPadding: [number, number][];
  outShape: number[];
  lhs: number[];
  rhs: number[];
  out: number[];
  g?: number[];
  dlhs?: number[];
  drhs?: number[];
}

const CASES = (data as unknown as { cases: FixtureCase[] }).cases;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e)))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
    }
  }
}

function paramsOf(c: FixtureCase): ConvParams {
  return resolveConvParams(c.lhsShape, c.rhsShape, c.windowStrides, c.padding, c.opts);
}

/** Runs the lhs-gradient convolution built from convLhsGradParams (null when the plan says zero). */
function lhsGradByRule(c: FixtureCase, p: ConvParams, g: Float64Array) {
  const plan = convLhsGradParams(c.lhsShape, c.rhsShape, p);
  if (plan.isZero) return null;
  const k = applyLhsGradRhsTransform(new Float64Array(c.rhs), c.rhsShape, plan.rhsTransform);
  assert.deepEqual(k.shape, plan.rhsTransform.shape);
  // The gradient convolution is itself a valid public call with explicit parameters.
  const q = plan.params;
  const again = resolveConvParams(c.outShape, k.shape, q.windowStrides, q.padding, {
    lhsDilation: q.lhsDilation,
    rhsDilation: q.rhsDilation,
    dimensionNumbers: q.dimensionNumbers,
    featureGroupCount: q.featureGroupCount,
    batchGroupCount: q.batchGroupCount,
  });
  assert.deepEqual(again, q);
  let r = convGeneralDilatedRef(g, c.outShape, k.data, k.shape, q);
  if (plan.outTransform.groupMove) r = applyGroupMove(r.data, r.shape, plan.outTransform.groupMove);
  assert.deepEqual(r.shape, plan.outTransform.shape);
  assert.deepEqual(r.shape, c.lhsShape);
  return r.data;
}

/** Runs the rhs-gradient convolution built from convRhsGradParams (null when the plan says zero). */
function rhsGradByRule(c: FixtureCase, p: ConvParams, g: Float64Array) {
  const plan = convRhsGradParams(c.lhsShape, c.rhsShape, p);
  if (plan.isZero) return null;
  const q = plan.params;
  const again = resolveConvParams(c.lhsShape, c.outShape, q.windowStrides, q.padding, {
    lhsDilation: q.lhsDilation,
    rhsDilation: q.rhsDilation,
    dimensionNumbers: q.dimensionNumbers,
    featureGroupCount: q.featureGroupCount,
    batchGroupCount: q.batchGroupCount,
  });
  assert.deepEqual(again, q);
  const r = convGeneralDilatedRef(new Float64Array(c.lhs), c.lhsShape, g, c.outShape, q);
  assert.deepEqual(r.shape, c.rhsShape);
  return r.data;
}

describe("convGeneralDilatedRef matches the NumPy fixtures", () => {
  test("fixture file covers enough cases", () => {
    assert.ok(CASES.length >= 45, `${CASES.length} cases`);
    assert.ok(CASES.filter((c) => c.g).length >= 15);
  });
  for (const c of CASES) {
    test(c.name, () => {
      const p = paramsOf(c);
      assert.deepEqual(p.padding, c.resolvedPadding);
      assert.deepEqual(convOutputShape(c.lhsShape, c.rhsShape, p), c.outShape);
      const r = convGeneralDilatedRef(
        new Float64Array(c.lhs),
        c.lhsShape,
        new Float64Array(c.rhs),
        c.rhsShape,
        p,
      );
      assert.deepEqual(r.shape, c.outShape);
      assertClose(r.data, c.out, c.name);
    });
  }
});

describe("transpose rules reproduce the NumPy VJPs", () => {
  for (const c of CASES.filter((x) => x.g)) {
    test(c.name, () => {
      const p = paramsOf(c);
      const g = new Float64Array(c.g!);
      const dl = lhsGradByRule(c, p, g);
      assertClose(dl ?? new Float64Array(c.lhs.length), c.dlhs!, `${c.name} dlhs`);
      const dr = rhsGradByRule(c, p, g);
      assertClose(dr ?? new Float64Array(c.rhs.length), c.drhs!, `${c.name} drhs`);
    });
  }
});

describe("transpose rules satisfy <conv(x, w), g> = <x, dx> = <w, dw> on every fixture", () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  for (const c of CASES) {
    test(c.name, () => {
      const p = paramsOf(c);
      const g = Float64Array.from(c.out, () => rand());
      const ip = dot(c.out, g);
      const dl = lhsGradByRule(c, p, g);
      const dr = rhsGradByRule(c, p, g);
      const tol = 1e-9 * Math.max(1, Math.abs(ip));
      assert.ok(
        Math.abs((dl ? dot(c.lhs, dl) : 0) - ip) <= tol,
        `lhs: ${dl && dot(c.lhs, dl)} vs ${ip}`,
      );
      assert.ok(
        Math.abs((dr ? dot(c.rhs, dr) : 0) - ip) <= tol,
        `rhs: ${dr && dot(c.rhs, dr)} vs ${ip}`,
      );
    });
  }
});

describe("gradient rule shapes", () => {
  test("grouped lhs gradient moves the group factor from O into I", () => {
    const p = resolveConvParams([1, 6, 5], [4, 3, 3], [1], "VALID", { featureGroupCount: 2 });
    const plan = convLhsGradParams([1, 6, 5], [4, 3, 3], p);
    assert.deepEqual(plan.rhsTransform, {
      groupMove: { groups: 2, fromAxis: 0, intoAxis: 1 },
      reverseAxes: [2],
      shape: [2, 6, 3],
    });
    assert.equal(plan.params.featureGroupCount, 2);
    assert.deepEqual(plan.params.dimensionNumbers, {
      lhs: [0, 1, 2],
      rhs: [1, 0, 2],
      out: [0, 1, 2],
    });
    assert.equal(plan.outTransform.groupMove, null);
  });
  test("batch-grouped lhs gradient regroups the result", () => {
    const p = resolveConvParams([4, 2, 5], [6, 2, 3], [1], "VALID", { batchGroupCount: 2 });
    const plan = convLhsGradParams([4, 2, 5], [6, 2, 3], p);
    assert.deepEqual(plan.outTransform.groupMove, { groups: 2, fromAxis: 1, intoAxis: 0 });
    assert.equal(plan.params.featureGroupCount, 2);
    assert.equal(plan.params.batchGroupCount, 1);
  });
  test("grouped rhs gradient uses batch groups", () => {
    const p = resolveConvParams([1, 6, 5], [4, 3, 3], [2], [[1, 0]], {
      featureGroupCount: 2,
      rhsDilation: [2],
    });
    const plan = convRhsGradParams([1, 6, 5], [4, 3, 3], p);
    assert.equal(plan.params.batchGroupCount, 2);
    assert.equal(plan.params.featureGroupCount, 1);
    assert.deepEqual(plan.params.windowStrides, [2]);
    assert.deepEqual(plan.params.rhsDilation, [2]);
    assert.deepEqual(plan.params.dimensionNumbers, {
      lhs: [1, 0, 2],
      rhs: [1, 0, 2],
      out: [1, 0, 2],
    });
    // Y = floor((1 + 5 - 5) / 2) + 1 = 1, Y~ = 1: hi = 1 - 5 + (5 - 1 - 1) = -1
    assert.deepEqual(plan.params.padding, [[1, -1]]);
  });
  test("empty cotangent gives isZero", () => {
    const p = resolveConvParams([1, 1, 2], [1, 1, 3], [1], "VALID");
    assert.equal(convRhsGradParams([1, 1, 2], [1, 1, 3], p).isZero, true);
    assert.equal(convLhsGradParams([1, 1, 2], [1, 1, 3], p).isZero, true);
  });
  test("flat helpers", () => {
    const m = applyGroupMove(Float64Array.from({ length: 12 }, (_, i) => i), [6, 2], {
      groups: 3,
      fromAxis: 0,
      intoAxis: 1,
    });
    assert.deepEqual(m.shape, [2, 6]);
    // out[a, g*2 + j] = in[g*2 + a, j]
    assert.deepEqual([...m.data], [0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11]);
    assert.deepEqual([...reverseAxes(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1])], [
      3,
      2,
      1,
      6,
      5,
      4,
    ]);
  });
});

describe("NaN locality", () => {
  const run = (
    x: number[],
    w: number[],
    pad: [number, number][],
    opts: ConvOptions = {},
    s = [1],
  ) => {
    const lhsShape = [1, 1, x.length], rhsShape = [1, 1, w.length];
    const p = resolveConvParams(lhsShape, rhsShape, s, pad, opts);
    return [
      ...convGeneralDilatedRef(Float64Array.from(x), lhsShape, Float64Array.from(w), rhsShape, p)
        .data,
    ];
  };
  const nanMask = (v: number[]) => v.map((e) => Number.isNaN(e));
  test("NaN in lhs reaches only the windows that read it", () => {
    const y = run([NaN, 1, 2, 3, 4], [1, 2, 3], [[2, 2]]);
    assert.deepEqual(nanMask(y), [true, true, true, false, false, false, false]);
  });
  test("NaN kernel tap over padding does not poison the output", () => {
    const y = run([1, 2, 3, 4, 5], [NaN, 2, 3], [[2, 2]]);
    assert.deepEqual(nanMask(y), [false, false, true, true, true, true, true]);
  });
  test("NaN kernel tap over lhs-dilation holes does not poison the output", () => {
    const y = run([1, 2, 3], [1, NaN], [[0, 0]], { lhsDilation: [2] });
    assert.deepEqual(nanMask(y), [false, true, false, true]);
  });
  test("NaN skipped by the stride or cropped by negative padding does not appear", () => {
    assert.deepEqual(nanMask(run([1, NaN, 2, 3, 4], [2], [[0, 0]], {}, [2])), [
      false,
      false,
      false,
    ]);
    assert.deepEqual(nanMask(run([NaN, 1, 2, 3], [1, 1], [[-1, 0]])), [false, false]);
  });
  test("NaN kernel tap between dilated taps only hits reads", () => {
    // rhsDilation 2: tap 1 reads q = y + 2 - 1 for pads (1, 0); X = 3, Y = 2; y = 0 reads x = 1, y = 1 reads x = 2
    assert.deepEqual(nanMask(run([1, 2, 3], [1, NaN], [[1, 0]], { rhsDilation: [2] })), [
      true,
      true,
    ]);
    // tap 0 reads x = y - 1: y = 0 reads padding only for the NaN tap
    assert.deepEqual(nanMask(run([1, 2, 3], [NaN, 1], [[1, 0]], { rhsDilation: [2] })), [
      false,
      true,
    ]);
  });
});

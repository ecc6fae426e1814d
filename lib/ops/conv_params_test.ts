// Tests of convGeneralDilated parameter resolution: dimension numbers, string padding, output
// shapes, and every error case of conv-semantics.md §1 (class, argument name, values, order).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ConvOptions,
  convOutputDim,
  convOutputShape,
  dilateDim,
  type Padding,
  resolveConvParams,
} from "./conv_params.ts";
import { paddingForMode } from "./padding.ts";

describe("resolveConvParams", () => {
  test("defaults: NC+spatial / OI+spatial / NC+spatial, unit dilations, no groups", () => {
    const p = resolveConvParams([2, 3, 5, 5], [4, 3, 3, 3], [1, 1], "VALID");
    assert.deepEqual(p, {
      windowStrides: [1, 1],
      padding: [[0, 0], [0, 0]],
      lhsDilation: [1, 1],
      rhsDilation: [1, 1],
      dimensionNumbers: { lhs: [0, 1, 2, 3], rhs: [0, 1, 2, 3], out: [0, 1, 2, 3] },
      featureGroupCount: 1,
      batchGroupCount: 1,
    });
  });
  test("rank 2 (no spatial dims) is a plain dot", () => {
    const p = resolveConvParams([3, 4], [5, 4], [], "SAME");
    assert.deepEqual(p.padding, []);
    assert.deepEqual(p.dimensionNumbers, { lhs: [0, 1], rhs: [0, 1], out: [0, 1] });
    assert.deepEqual(convOutputShape([3, 4], [5, 4], p), [3, 5]);
  });
  test("NHWC / HWIO strings", () => {
    const p = resolveConvParams([1, 5, 6, 3], [3, 3, 3, 8], [1, 1], "VALID", {
      dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
    });
    assert.deepEqual(p.dimensionNumbers, {
      lhs: [0, 3, 1, 2],
      rhs: [3, 2, 0, 1],
      out: [0, 3, 1, 2],
    });
    assert.deepEqual(convOutputShape([1, 5, 6, 3], [3, 3, 3, 8], p), [1, 3, 4, 8]);
  });
  test("spatial order comes from the rhs spec", () => {
    const dn: [string, string, string] = ["NWHC", "WHIO", "CNHW"];
    const p = resolveConvParams([2, 7, 5, 3], [3, 2, 3, 4], [2, 1], "VALID", {
      dimensionNumbers: dn,
    });
    assert.deepEqual(p.dimensionNumbers, {
      lhs: [0, 3, 1, 2],
      rhs: [3, 2, 0, 1],
      out: [1, 0, 3, 2],
    });
    // W: (7 - 3) / 2 + 1 = 3, H: 5 - 2 + 1 = 4; out layout C N H W
    assert.deepEqual(convOutputShape([2, 7, 5, 3], [3, 2, 3, 4], p), [4, 2, 4, 3]);
  });
  test("any letters for spatial dims", () => {
    const p = resolveConvParams([2, 3, 5, 4], [2, 3, 4, 3], [1, 1], "VALID", {
      dimensionNumbers: ["NCxy", "yxOI", "NyxC"],
    });
    assert.deepEqual(p.dimensionNumbers, {
      lhs: [0, 1, 3, 2],
      rhs: [2, 3, 0, 1],
      out: [0, 3, 1, 2],
    });
  });
  test("integer dimension numbers are taken as given", () => {
    const dn = { lhs: [1, 3, 0, 2], rhs: [3, 0, 2, 1], out: [2, 0, 3, 1] };
    const p = resolveConvParams([5, 2, 4, 3], [3, 2, 3, 2], [1, 2], "VALID", {
      dimensionNumbers: dn,
    });
    assert.deepEqual(p.dimensionNumbers, dn);
    assert.notEqual(p.dimensionNumbers.lhs, dn.lhs);
  });
  test("padding strings are case-insensitive and use the dilated kernel", () => {
    for (const mode of ["same", "Same", "SAME"]) {
      assert.deepEqual(resolveConvParams([1, 1, 6], [1, 1, 4], [1], mode).padding, [[1, 2]]);
    }
    assert.deepEqual(resolveConvParams([1, 1, 6], [1, 1, 4], [1], "same_lower").padding, [[2, 1]]);
    assert.deepEqual(resolveConvParams([1, 1, 6], [1, 1, 4], [1], "valid").padding, [[0, 0]]);
    // K~ = 5 with rhsDilation 2 on K = 3; stride 2: out = 5, t = 4 * 2 + 5 - 9 = 4
    assert.deepEqual(
      resolveConvParams([1, 1, 9], [1, 1, 3], [2], "SAME", { rhsDilation: [2] }).padding,
      [[2, 2]],
    );
    // stride 3 on X = 10, K = 2: out = 4, t = 9 + 2 - 10 = 1
    assert.deepEqual(paddingForMode("op", "SAME", [10], [2], [3]), [[0, 1]]);
    assert.deepEqual(paddingForMode("op", "SAME_LOWER", [10], [2], [3]), [[1, 0]]);
    // never negative
    assert.deepEqual(paddingForMode("op", "SAME", [5], [1], [3]), [[0, 0]]);
  });
  test("explicit and negative pads are kept; lhs dilation with explicit pads is fine", () => {
    const p = resolveConvParams([1, 1, 3], [1, 1, 2], [1], [[-2, -3]], { lhsDilation: [3] });
    assert.deepEqual(p.padding, [[-2, -3]]);
    assert.deepEqual(p.lhsDilation, [3]);
    assert.deepEqual(convOutputShape([1, 1, 3], [1, 1, 2], p), [1, 1, 1]);
  });
  test("string padding with lhsDilation all ones is allowed", () => {
    assert.deepEqual(
      resolveConvParams([1, 1, 6], [1, 1, 3], [1], "SAME", { lhsDilation: [1] }).padding,
      [[1, 1]],
    );
  });
});

describe("convOutputShape", () => {
  test("helpers", () => {
    assert.equal(dilateDim(0, 3), 0);
    assert.equal(dilateDim(1, 3), 1);
    assert.equal(dilateDim(4, 3), 10);
    assert.equal(convOutputDim(8, 3, 2), 3);
    assert.equal(convOutputDim(0, 1, 1), 0);
    assert.equal(convOutputDim(4, 5, 1), 0);
  });
  test("batch groups divide N; features are O", () => {
    const p = resolveConvParams([6, 2, 7], [6, 2, 2], [2], [[1, 2]], { batchGroupCount: 3 });
    assert.deepEqual(convOutputShape([6, 2, 7], [6, 2, 2], p), [2, 6, 5]);
  });
  test("empty spatial output (not an error) when the dilated kernel exceeds the padded input", () => {
    const p = resolveConvParams([1, 2, 5], [2, 2, 3], [2], "VALID", { rhsDilation: [3] });
    assert.deepEqual(convOutputShape([1, 2, 5], [2, 2, 3], p), [1, 2, 0]);
    const q = resolveConvParams([1, 1, 3], [1, 1, 1], [1], [[-2, -1]]);
    assert.deepEqual(convOutputShape([1, 1, 3], [1, 1, 1], q), [1, 1, 0]);
  });
  test("zero-size dims", () => {
    const p = resolveConvParams([0, 2, 6], [3, 2, 2], [2], "SAME");
    assert.deepEqual(convOutputShape([0, 2, 6], [3, 2, 2], p), [0, 3, 3]);
    const q = resolveConvParams([2, 2, 0], [3, 2, 3], [2], [[2, 2]]);
    assert.deepEqual(convOutputShape([2, 2, 0], [3, 2, 3], q), [2, 3, 1]);
    const r = resolveConvParams([2, 0, 4], [3, 0, 3], [1], "VALID");
    assert.deepEqual(convOutputShape([2, 0, 4], [3, 0, 3], r), [2, 3, 2]);
  });
});

type Call = [number[], number[], number[], Padding, ConvOptions?];

function expectError(
  call: Call,
  cls: typeof TypeError | typeof RangeError,
  ...parts: (string | RegExp)[]
): void {
  let err: unknown;
  try {
    resolveConvParams(...(call as [number[], number[], number[], Padding, ConvOptions]));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
  const msg = (err as Error).message;
  assert.ok(msg.startsWith("convGeneralDilated: "), msg);
  assert.ok(!msg.endsWith("."), msg);
  for (const part of parts) {
    if (typeof part === "string") {
      assert.ok(msg.includes(part), `${JSON.stringify(msg)} lacks ${JSON.stringify(part)}`);
    } else assert.match(msg, part);
  }
}

const NCW: Call = [[1, 2, 5], [3, 2, 3], [1], [[0, 0]]];
function withOpts(opts: ConvOptions, base: Call = NCW): Call {
  return [base[0], base[1], base[2], base[3], opts];
}

describe("resolveConvParams errors", () => {
  test("shapes and ranks (TypeError)", () => {
    expectError(
      [[1, 2, 3, 3], [1, 2, 3], [1, 1], "VALID"],
      TypeError,
      "lhs shape [1,2,3,3]",
      "rhs shape [1,2,3]",
      "rank",
    );
    expectError([[3], [3], [], "VALID"], TypeError, "[3]", "rank at least 2");
    expectError([[1, -2, 3], [1, 1, 1], [1], "VALID"], TypeError, "lhs shape [1,-2,3]");
    expectError([[1, 1, 3], [1, 1.5, 1], [1], "VALID"], TypeError, "rhs shape [1,1.5,1]");
  });
  test("dimension numbers (TypeError)", () => {
    const base: Call = [[1, 2, 5, 5], [3, 2, 3, 3], [1, 1], "VALID"];
    const dn = (d: unknown) => withOpts({ dimensionNumbers: d as [string, string, string] }, base);
    expectError(
      dn(["NCHW", "OIHW"]),
      TypeError,
      "dimensionNumbers",
      '["NCHW","OIHW"]',
      "3 entries",
    );
    expectError(dn(["NCHW", 5, "NCHW"]), TypeError, "dimensionNumbers", "strings");
    expectError(dn(["NCH", "OIHW", "NCHW"]), TypeError, 'dimensionNumbers[0] "NCH"', "rank 4");
    expectError(
      dn(["NHWX", "OIHW", "NCHW"]),
      TypeError,
      'dimensionNumbers[0] "NHWX"',
      "N and C exactly once",
    );
    expectError(
      dn(["NCHW", "IHWX", "NCHW"]),
      TypeError,
      'dimensionNumbers[1] "IHWX"',
      "O and I exactly once",
    );
    expectError(
      dn(["NCHW", "OIHW", "NCCW"]),
      TypeError,
      'dimensionNumbers[2] "NCCW"',
      "N and C exactly once",
    );
    expectError(dn(["NCHH", "OIHH", "NCHH"]), TypeError, 'dimensionNumbers[0] "NCHH"', "duplicate");
    expectError(
      dn(["NCHW", "OIHD", "NCHW"]),
      TypeError,
      '["NCHW","OIHD","NCHW"]',
      "same set of spatial characters",
    );
    expectError(
      dn({ lhs: [0, 1, 2, 2], rhs: [0, 1, 2, 3], out: [0, 1, 2, 3] }),
      TypeError,
      "dimensionNumbers.lhs [0,1,2,2]",
      "permutation",
    );
    expectError(
      dn({ lhs: [0, 1, 2, 3], rhs: [0, 1, 2], out: [0, 1, 2, 3] }),
      TypeError,
      "dimensionNumbers.rhs [0,1,2]",
    );
    expectError(dn(42), TypeError, "dimensionNumbers 42");
  });
  test("string padding with lhs dilation (RangeError)", () => {
    expectError(
      withOpts({ lhsDilation: [2] }, [[1, 2, 5], [3, 2, 3], [1], "SAME"]),
      RangeError,
      '"SAME"',
      "lhsDilation [2]",
    );
    expectError(
      withOpts({ lhsDilation: [3] }, [[1, 2, 5], [3, 2, 3], [1], "valid"]),
      RangeError,
      '"valid"',
      "lhsDilation [3]",
    );
  });
  test("unknown padding string, malformed or non-integer pads (RangeError)", () => {
    expectError([[1, 2, 5], [3, 2, 3], [1], "FULL"], RangeError, 'padding "FULL"', "VALID");
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], [[1.5, 0]]],
      RangeError,
      "padding [[1.5,0]]",
      "integer",
    );
    expectError([[1, 2, 5], [3, 2, 3], [1], [[1, NaN]]], RangeError, 'padding [[1,"NaN"]]');
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], [[1, 2, 3]] as unknown as Padding],
      RangeError,
      "padding [[1,2,3]]",
    );
    expectError([[1, 2, 5], [3, 2, 3], [1], 2 as unknown as Padding], RangeError, "padding 2");
  });
  test("feature groups", () => {
    const call = (
      lhs: number[],
      rhs: number[],
      g: unknown,
    ): Call => [lhs, rhs, [1], "VALID", { featureGroupCount: g as number }];
    expectError(
      call([1, 6, 5], [6, 2, 3], 4),
      TypeError,
      "featureGroupCount 4 must divide lhs feature dimension 6",
    );
    const exact =
      "convGeneralDilated: lhs feature dimension 3 divided by featureGroupCount 1 must equal rhs input feature dimension 2";
    assert.throws(() => resolveConvParams([1, 3, 5], [1, 2, 3], [1], "VALID"), {
      name: "TypeError",
      message: exact,
    });
    expectError(
      call([1, 6, 5], [5, 3, 3], 2),
      TypeError,
      "rhs output feature dimension 5",
      "featureGroupCount 2",
    );
    expectError(
      call([1, 6, 5], [6, 3, 3], 0),
      RangeError,
      "featureGroupCount 0",
      "positive integer",
    );
    expectError(call([1, 6, 5], [6, 3, 3], 1.5), RangeError, "featureGroupCount 1.5");
  });
  test("batch groups and both groups", () => {
    const call = (
      lhs: number[],
      rhs: number[],
      opts: ConvOptions,
    ): Call => [lhs, rhs, [1], "VALID", opts];
    expectError(
      call([3, 2, 5], [4, 2, 3], { batchGroupCount: 2 }),
      TypeError,
      "batchGroupCount 2 must divide lhs batch dimension 3",
    );
    expectError(
      call([4, 2, 5], [3, 2, 3], { batchGroupCount: 2 }),
      TypeError,
      "rhs output feature dimension 3",
      "batchGroupCount 2",
    );
    expectError(
      call([4, 2, 5], [4, 2, 3], { batchGroupCount: -1 }),
      RangeError,
      "batchGroupCount -1",
    );
    expectError(
      call([4, 4, 5], [4, 2, 3], { featureGroupCount: 2, batchGroupCount: 2 }),
      RangeError,
      "featureGroupCount 2",
      "batchGroupCount 2",
      "at most one",
    );
  });
  test("window strides (RangeError)", () => {
    const base: Call = [[1, 1, 5, 5], [1, 1, 3, 3], [1, 1], "VALID"];
    const st = (s: unknown): Call => [base[0], base[1], s as number[], base[3]];
    expectError(st([1]), RangeError, "windowStrides [1]", "2 entries");
    expectError(st([1, 1, 1]), RangeError, "windowStrides [1,1,1]", "2 entries");
    expectError(st([1, 0]), RangeError, "windowStrides [1,0]", "positive integers");
    expectError(st([-1, 1]), RangeError, "windowStrides [-1,1]");
    expectError(st([1.5, 1]), RangeError, "windowStrides [1.5,1]");
    expectError([base[0], base[1], [0, 1], "SAME"], RangeError, "windowStrides [0,1]");
    expectError(st(undefined), RangeError, "windowStrides undefined");
  });
  test("dilations (RangeError)", () => {
    expectError(withOpts({ lhsDilation: [0] }), RangeError, "lhsDilation [0]", "positive integers");
    expectError(withOpts({ rhsDilation: [-2] }), RangeError, "rhsDilation [-2]");
    expectError(withOpts({ rhsDilation: [1.5] }), RangeError, "rhsDilation [1.5]");
    expectError(withOpts({ rhsDilation: [1, 1] }), RangeError, "rhsDilation [1,1]", "1 entries");
  });
  test("wrong number of pads (RangeError)", () => {
    expectError(
      [[1, 1, 5, 5], [1, 1, 3, 3], [1, 1], [[0, 0]]],
      RangeError,
      "padding [[0,0]]",
      "2 integer [lo, hi] pairs",
    );
    expectError(
      [[1, 1, 5], [1, 1, 3], [1], []],
      RangeError,
      "padding []",
      "1 integer [lo, hi] pairs",
    );
  });
  test("negative padding larger than the dilated input (RangeError)", () => {
    expectError(
      [[1, 1, 3], [1, 1, 1], [1], [[-2, -2]]],
      RangeError,
      "padding [-2,-2]",
      "spatial dimension 0",
      "3",
    );
    // lhs dilation 2 makes X~ = 5: (-3, -2) is allowed (P = 0), (-3, -3) is not
    assert.deepEqual(
      resolveConvParams([1, 1, 3], [1, 1, 1], [1], [[-3, -2]], { lhsDilation: [2] }).padding,
      [[-3, -2]],
    );
    expectError(
      [[1, 1, 3], [1, 1, 1], [1], [[-3, -3]], { lhsDilation: [2] }],
      RangeError,
      "padding [-3,-3]",
      "5",
    );
  });
  test("checks run in JAX's order", () => {
    // ranks before dimension numbers
    expectError(
      [[1, 2, 5], [3, 2], [1], "VALID", { dimensionNumbers: ["X", "Y", "Z"] }],
      TypeError,
      "rank",
    );
    // dimension numbers before padding
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], "FULL", { dimensionNumbers: ["NCW", "OIH", "NCW"] }],
      TypeError,
      "spatial",
    );
    // string padding + lhs dilation before an unknown padding string
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], "FULL", { lhsDilation: [2] }],
      RangeError,
      "lhsDilation [2]",
    );
    // padding form before groups
    expectError([[1, 2, 5], [3, 3, 3], [1], [[0.5, 0]]], RangeError, "padding");
    // feature groups before batch groups before strides
    expectError(
      [[3, 2, 5], [3, 3, 3], [0], "VALID", { batchGroupCount: 2 }],
      TypeError,
      "featureGroupCount 1",
    );
    expectError(
      [[3, 2, 5], [3, 2, 3], [0], "VALID", { batchGroupCount: 2 }],
      TypeError,
      "batchGroupCount 2",
    );
    // strides before dilations before pad count before negative padding
    expectError(
      [[1, 2, 5], [3, 2, 3], [0], [[0, 0], [0, 0]], { rhsDilation: [0] }],
      RangeError,
      "windowStrides",
    );
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], [[0, 0], [0, 0]], { rhsDilation: [0] }],
      RangeError,
      "rhsDilation",
    );
    expectError(
      [[1, 2, 5], [3, 2, 3], [1], [[-9, 0], [0, 0]]],
      RangeError,
      "1 integer [lo, hi] pairs",
    );
  });
});

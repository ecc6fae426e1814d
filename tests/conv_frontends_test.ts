/**
 * Convolution front-ends beyond the fixtures (see conv_frontend_fixtures_test.ts): the seed
 * examples (mygrad, the NHWC notebook), vmap / jit, zero-size operands, NaN locality, error
 * messages of lax and nn convolutions, and lax extras.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, np, type Tensor, vjp, vmap } from "../mod.ts";
import * as lax from "../lib/lax.ts";
import * as nn from "../lib/nn.ts";
import * as signal from "../lib/signal.ts";
import { assertAllClose } from "./_test_utils.ts";

describe("seed examples", () => {
  test("mygrad conv_nd: 1-d box filter, forward and gradients of the sum", async () => {
    const xv = new Array(16).fill(0).map((_, i) => (i >= 5 && i < 11 ? 1 : 0));
    const x = np.array([[xv]], { dtype: "float64" });
    const k = np.ones([1, 1, 5], { dtype: "float64" });
    const f = (a: Tensor, b: Tensor) => nn.convNd(a, b, { stride: 1 });
    assert.deepEqual(Array.from(f(x, k).dataSync()), [0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0]);
    const [dx, dk] = grad((a: Tensor, b: Tensor) => np.sum(f(a, b)), { argnums: [0, 1] })(
      x,
      k,
    ) as Tensor[];
    assert.deepEqual(Array.from(dx.dataSync()), [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1]);
    assert.deepEqual(Array.from(dk.dataSync()), [6, 6, 6, 6, 6]);
    await assertAllClose(dx, [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1]);
  });

  test("NHWC notebook: [2,10,11,5] image, [2,3,5,4] HWIO filter, every input element by finite differences", () => {
    const img = randomArray([2, 10, 11, 5], 1);
    const filt = randomArray([2, 3, 5, 4], 2);
    const dn: [string, string, string] = ["NHWC", "HWIO", "NHWC"];
    const f = (x: Tensor, w: Tensor) =>
      lax.convGeneralDilated(x, w, [1, 1], "VALID", { dimensionNumbers: dn });
    const y = f(img, filt);
    assert.deepEqual(y.shape, [2, 9, 9, 4]);
    const gOut = randomArray(y.shape, 3);
    const loss = (x: Tensor, w: Tensor) => np.sum(np.multiply(f(x, w), gOut));
    const [gx, gw] = grad(loss, { argnums: [0, 1] })(img, filt) as Tensor[];
    // central differences of the loss, element by element (the loss is linear in each input,
    // so the difference quotient is exact up to rounding)
    for (const [which, base, g] of [[0, img, gx], [1, filt, gw]] as const) {
      const vals = Float64Array.from(base.dataSync());
      const gv = g.dataSync();
      const eps = 1e-3;
      let worst = 0;
      // batch all +eps / -eps perturbations through vmap over one-hot directions
      const n = vals.length;
      const dirs = new Float64Array(n * n);
      for (let i = 0; i < n; i++) dirs[i * n + i] = eps;
      const D = np.array(dirs, { dtype: "float64", shape: [n, ...base.shape] });
      const plus = vmap((
        d: Tensor,
      ) => (which === 0 ? loss(np.add(img, d), filt) : loss(img, np.add(filt, d))))(D);
      const minus = vmap((
        d: Tensor,
      ) => (which === 0 ? loss(np.subtract(img, d), filt) : loss(img, np.subtract(filt, d))))(D);
      const p = plus.dataSync(), m = minus.dataSync();
      for (let i = 0; i < n; i++) {
        worst = Math.max(worst, Math.abs((p[i] - m[i]) / (2 * eps) - gv[i]));
      }
      assert.ok(worst < 1e-8, `operand ${which}: worst |numeric - analytic| = ${worst}`);
    }
  });
});

/** Deterministic pseudo-random float64 array in [-1, 1). */
function randomArray(shape: number[], seed: number): Tensor {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    d[i] = s / 1073741824 - 1;
  }
  return np.array(d, { dtype: "float64", shape });
}

describe("transforms", () => {
  const x = randomArray([3, 2, 2, 7, 6], 4); // a batch of 3 inputs (2, 2, 7, 6)
  const w = randomArray([3, 2, 3, 2], 5);
  const loss = (xi: Tensor, wi: Tensor) =>
    np.sum(
      np.square(
        nn.convNd(xi, wi, {
          stride: [2, 1],
          padding: [[1, 0], [2, 1]],
          dilation: [1, 2],
          paddingMode: "reflect",
        }),
      ),
    );

  test("vmap(grad(loss)) over a batch equals a loop", async () => {
    const batched = vmap(grad(loss), { inAxes: [0, null] })(x, w) as Tensor;
    for (let i = 0; i < 3; i++) {
      const xi = x.slice(i);
      await assertAllClose(batched.slice(i), grad(loss)(xi, w).dataSync(), {
        rtol: 1e-12,
        atol: 1e-12,
      });
    }
  });

  test("vmap over both operands (batched kernels) equals a loop", async () => {
    const ws = randomArray([3, 3, 2, 3, 2], 6);
    const f = (xi: Tensor, wi: Tensor) =>
      nn.convTransposeNd(xi.slice(":", ":2"), wi.slice(":2"), {
        stride: 2,
        padding: 1,
        outputPadding: 1,
      });
    const out = vmap(f)(x, ws) as Tensor;
    for (let i = 0; i < 3; i++) {
      await assertAllClose(out.slice(i), f(x.slice(i), ws.slice(i)).dataSync(), {
        rtol: 1e-12,
        atol: 1e-12,
      });
    }
  });

  test("jit equals eager for every front-end", async () => {
    const img = x.slice(0);
    const fns: [string, (a: Tensor) => Tensor][] = [
      ["convNd", (a) => nn.convNd(a, w, { stride: 2, padding: "valid", groups: 1 })],
      [
        "convNd circular",
        (a) => nn.convNd(a, w, { stride: 2, padding: 1, paddingMode: "circular" }),
      ],
      [
        "convTransposeNd",
        (a) => nn.convTransposeNd(a, randomArray([2, 2, 2, 2], 9), { stride: 2, outputPadding: 1 }),
      ],
      ["maxPool", (a) => nn.maxPool(a, { window: 3, stride: 2, padding: 1 })],
      ["avgPool", (a) => nn.avgPool(a, { window: 2, padding: 1, countIncludePad: false })],
      [
        "reduceWindow",
        (a) =>
          lax.reduceWindow(a, -Infinity, "max", [1, 1, 2, 3], [1, 1, 2, 2], "SAME", {
            windowDilation: [1, 1, 2, 1],
          }),
      ],
      ["convTranspose", (a) => lax.convTranspose(a, randomArray([3, 3, 6, 2], 8), [2, 2], "SAME")],
      [
        "signal.convolve",
        (a) => signal.convolve(a, w, { axes: [[2, 3], [2, 3]], dotAxes: [[1], [1]], mode: "same" }),
      ],
      [
        "signal.correlate",
        (a) => signal.correlate(a.slice(0, 0), randomArray([3, 4], 10), { mode: "valid" }),
      ],
    ];
    for (const [name, f] of fns) {
      const eager = f(img);
      const jitted = jit(f)(img) as Tensor;
      assert.deepEqual(jitted.shape, eager.shape, name);
      await assertAllClose(jitted, eager.dataSync(), { rtol: 1e-12, atol: 1e-12, message: name });
      const gj = jit(grad((a: Tensor) => np.sum(np.square(f(a)))))(img) as Tensor;
      const ge = grad((a: Tensor) => np.sum(np.square(f(a))))(img) as Tensor;
      await assertAllClose(gj, ge.dataSync(), {
        rtol: 1e-12,
        atol: 1e-12,
        message: `${name} grad`,
      });
    }
  });
});

describe("zero-size operands", () => {
  const z = (shape: number[]) => np.zeros(shape, { dtype: "float64" });
  test("convNd with N = 0, C = 0, F = 0 and spatial 0 with padding", async () => {
    assert.deepEqual(nn.convNd(z([0, 2, 5]), z([3, 2, 2]), { stride: 2 }).shape, [0, 3, 2]);
    const c0 = nn.convNd(np.ones([2, 0, 5]), np.ones([3, 0, 2]));
    assert.deepEqual(c0.shape, [2, 3, 4]);
    await assertAllClose(c0, new Array(24).fill(0));
    assert.deepEqual(nn.convNd(z([2, 2, 5]), z([0, 2, 2])).shape, [2, 0, 4]);
    const sp = nn.convNd(z([1, 1, 0, 3]), z([2, 1, 1, 2]), {
      padding: [[1, 1], [0, 0]],
      stride: [2, 1],
    });
    assert.deepEqual(sp.shape, [1, 2, 1, 2]);
    const g = grad((x: Tensor) =>
      np.sum(nn.convNd(x, np.ones([2, 1, 1, 2]), { padding: [[1, 1], [0, 0]] }))
    )(z([1, 1, 0, 3]));
    assert.deepEqual(g.shape, [1, 1, 0, 3]);
  });
  test("convTransposeNd, pools, reduceWindow and signal.convolve with empty batch / ignore axes", () => {
    assert.deepEqual(nn.convTransposeNd(z([0, 2, 3]), z([2, 4, 2]), { stride: 2 }).shape, [
      0,
      4,
      6,
    ]);
    assert.deepEqual(nn.maxPool(z([0, 3, 4, 4]), { window: 2 }).shape, [0, 3, 2, 2]);
    assert.deepEqual(
      nn.avgPool(z([2, 0, 4]), { window: 2, padding: 1, countIncludePad: false }).shape,
      [2, 0, 3],
    );
    assert.deepEqual(lax.reduceWindow(z([0, 5]), 0, "sum", [1, 2], [1, 2], "SAME").shape, [0, 3]);
    assert.deepEqual(lax.reduceWindow(z([3, 1]), -Infinity, "max", [1, 2], [1, 1], "VALID").shape, [
      3,
      0,
    ]);
    assert.deepEqual(signal.convolve(z([0, 4]), z([2, 3]), { axes: [[1], [1]] }).shape, [0, 2, 6]);
    assert.deepEqual(lax.convGeneralDilated(z([2, 3, 0]), z([4, 3, 2]), [1], [[1, 2]]).shape, [
      2,
      4,
      2,
    ]);
  });
});

describe("NaN stays local", () => {
  /** Positions of NaN must equal the outputs that read the poisoned input (computed on an indicator). */
  function checkLocal(f: (a: Tensor) => Tensor, shape: number[], at: number, mark = 1) {
    const base = randomArray(shape, 11).dataSync().slice();
    const poisoned = Float64Array.from(base);
    poisoned[at] = NaN;
    const out = f(np.array(poisoned, { dtype: "float64", shape })).dataSync();
    const ind = new Float64Array(base.length);
    ind[at] = mark; // reads the input iff the output changes (use -1 for min reductions)
    const reads = f(np.array(ind, { dtype: "float64", shape }));
    const onesIn = f(np.array(new Float64Array(base.length).fill(0), { dtype: "float64", shape }))
      .dataSync();
    const r = reads.dataSync();
    let nans = 0;
    for (let i = 0; i < out.length; i++) {
      const readsIt = r[i] !== onesIn[i];
      assert.equal(
        Number.isNaN(out[i]),
        readsIt,
        `output ${i}: NaN ${Number.isNaN(out[i])}, reads the input ${readsIt}`,
      );
      if (readsIt) nans++;
    }
    assert.ok(nans > 0 && nans < out.length, `NaN count ${nans} of ${out.length}`);
  }
  const w = randomArray([2, 2, 3, 2], 12).abs().add(0.5);
  test("convNd (zero and reflect padding), convTransposeNd", () => {
    checkLocal((a) => nn.convNd(a, w, { stride: 2, padding: 1 }), [1, 2, 7, 6], 17);
    checkLocal((a) => nn.convNd(a, w, { stride: [1, 2], padding: 1, paddingMode: "reflect" }), [
      1,
      2,
      7,
      6,
    ], 30);
    checkLocal((a) => nn.convTransposeNd(a, w, { stride: 2, padding: 1 }), [1, 2, 4, 3], 5);
  });
  test("pools, reduceWindow, signal.convolve", () => {
    checkLocal((a) => nn.maxPool(a, { window: 3, stride: 2, padding: 1 }), [1, 1, 7, 6], 20);
    checkLocal((a) => nn.avgPool(a, { window: 2, stride: 1 }), [1, 1, 5, 6], 14);
    checkLocal((a) => lax.reduceWindow(a, Infinity, "min", [2, 3], [2, 1], "SAME"), [6, 5], 13, -1);
    checkLocal((a) => signal.convolve(a, np.ones([2, 3]), { mode: "same" }), [6, 7], 22);
  });
  test("NaN in the kernel poisons only the outputs that use that tap (zero padding contributes no term)", () => {
    const k = np.array([[[1, NaN, 1]]], { dtype: "float64" });
    const y = nn.convNd(np.ones([1, 1, 4], { dtype: "float64" }), k, { padding: 1 }).dataSync();
    assert.ok(y.every((v) => Number.isNaN(v)));
    const y2 = lax.conv(
      np.ones([1, 1, 3], { dtype: "float64" }),
      np.array([[[NaN, 1, 1]]], { dtype: "float64" }),
      [1],
      [[2, 0]],
    ).dataSync();
    assert.deepEqual(Array.from(y2).map(Number.isNaN), [false, false, true]);
  });
});

// ----------------------------------------------------------------------------------------------

/** Asserts `fn` throws `ctor` with a message containing every needle. */
function throwsWith(fn: () => unknown, ctor: ErrorConstructor, ...needles: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(
      e instanceof ctor,
      `expected ${ctor.name}, got ${
        e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)
      }`,
    );
    for (const s of needles) {
      assert.ok(
        (e as Error).message.includes(s),
        `message ${JSON.stringify((e as Error).message)} lacks ${JSON.stringify(s)}`,
      );
    }
    return true;
  });
}

describe("errors: nn.convNd / convTransposeNd", () => {
  const x = np.ones([2, 3, 8]), w = np.ones([4, 3, 3]);
  test("ranks and channels are TypeErrors naming the shapes", () => {
    throwsWith(
      () => nn.convNd(np.ones([3, 8]), np.ones([4, 3])),
      TypeError,
      "convNd",
      "at least 3 dimensions",
      "[3,8]",
    );
    throwsWith(
      () => nn.convNd(x, np.ones([4, 3, 3, 3])),
      TypeError,
      "convNd",
      "[4,3,3,3]",
      "[2,3,8]",
    );
    throwsWith(
      () => nn.convNd(x, np.ones([4, 2, 3])),
      TypeError,
      "convNd",
      "3 channels",
      "2 per group",
    );
    throwsWith(
      () => nn.convNd(np.ones([1, 4, 8]), np.ones([3, 2, 3]), { groups: 2 }),
      TypeError,
      "filters 3",
      "groups 2",
    );
    throwsWith(() => nn.convNd(x, np.ones([4, 3, 0])), TypeError, "kernel spatial sizes [0]");
  });
  test("bad strides, dilations, paddings and groups are RangeErrors naming the values", () => {
    throwsWith(() => nn.convNd(x, w, { stride: 0 }), RangeError, "convNd", "stride 0");
    throwsWith(() => nn.convNd(x, w, { stride: [1, 2] }), RangeError, "stride [1,2]", "1 numbers");
    throwsWith(() => nn.convNd(x, w, { dilation: 1.5 }), RangeError, "dilation 1.5");
    throwsWith(() => nn.convNd(x, w, { padding: -1 }), RangeError, "padding -1", "non-negative");
    throwsWith(() => nn.convNd(x, w, { padding: [[1, -1]] }), RangeError, "padding [[1,-1]]");
    throwsWith(() => nn.convNd(x, w, { padding: "full" as "same" }), RangeError, 'padding "full"');
    throwsWith(
      () => nn.convNd(x, w, { padding: "same", stride: 2 }),
      RangeError,
      '"same" requires stride 1',
      "[2]",
    );
    throwsWith(() => nn.convNd(x, w, { groups: 0 }), RangeError, "groups 0");
    throwsWith(
      () => nn.convNd(x, w, { paddingMode: "mirror" as "reflect" }),
      RangeError,
      'paddingMode "mirror"',
    );
    throwsWith(
      () => nn.convNd(x, w, { padding: 8, paddingMode: "reflect" }),
      RangeError,
      "reflect",
      "[8,8]",
      "at most 7",
    );
    throwsWith(
      () => nn.convNd(x, w, { padding: 9, paddingMode: "circular" }),
      RangeError,
      "circular",
      "at most 8",
    );
    throwsWith(() => nn.convNd(x, w, { bias: np.ones([3]) }), TypeError, "bias shape [3]", "[4]");
  });
  test("a kernel that fits nowhere is a RangeError with the sizes", () => {
    throwsWith(
      () => nn.convNd(np.ones([1, 1, 4]), np.ones([1, 1, 3]), { dilation: 2 }),
      RangeError,
      "fits nowhere",
      "dilated kernel size 5",
      "padded input size 4",
    );
    throwsWith(() => nn.convNd(np.ones([1, 1, 0]), np.ones([1, 1, 2])), RangeError, "fits nowhere");
  });
  test("convTransposeNd checks", () => {
    throwsWith(
      () => nn.convTransposeNd(np.ones([1, 2, 4]), np.ones([3, 2, 2])),
      TypeError,
      "convTransposeNd",
      "2 channels",
      "3 input channels",
    );
    throwsWith(
      () => nn.convTransposeNd(np.ones([1, 3, 4]), np.ones([3, 2, 2]), { groups: 2 }),
      TypeError,
      "3",
      "groups 2",
    );
    throwsWith(
      () =>
        nn.convTransposeNd(np.ones([1, 2, 4]), np.ones([2, 2, 2]), { stride: 2, outputPadding: 2 }),
      RangeError,
      "outputPadding 2",
      "stride 2",
    );
    throwsWith(
      () => nn.convTransposeNd(np.ones([1, 2, 1]), np.ones([2, 2, 2]), { padding: 1 }),
      RangeError,
      "output size 0",
    );
    throwsWith(
      () => nn.convTransposeNd(np.ones([2, 4]), np.ones([2, 2])),
      TypeError,
      "at least 3 dimensions",
    );
  });
});

describe("errors: lax", () => {
  test("convGeneralDilated validates through conv params", () => {
    throwsWith(
      () => lax.convGeneralDilated(np.ones([1, 3, 5]), np.ones([2, 2, 3]), [1], "VALID"),
      TypeError,
      "convGeneralDilated",
      "lhs feature dimension 3",
      "rhs input feature dimension 2",
    );
    throwsWith(
      () => lax.convGeneralDilated(np.ones([1, 3, 5]), np.ones([2, 3, 3]), [0], "VALID"),
      RangeError,
      "windowStrides [0]",
    );
    throwsWith(
      () => lax.convGeneralDilated(np.ones([1, 3, 5]), np.ones([2, 3, 3]), [1], "FULL"),
      RangeError,
      'padding "FULL"',
    );
    throwsWith(
      () =>
        lax.convGeneralDilated(np.ones([1, 3, 5]), np.ones([2, 3, 3]), [1], "VALID", {
          preferredElementType: "int32",
        }),
      TypeError,
      'preferredElementType "int32"',
    );
  });
  test("convTranspose validates", () => {
    throwsWith(
      () => lax.convTranspose(np.ones([1, 4, 2]), np.ones([2, 2]), [2], "SAME"),
      TypeError,
      "convTranspose",
      "[1,4,2]",
      "[2,2]",
    );
    throwsWith(
      () => lax.convTranspose(np.ones([1, 4, 2]), np.ones([2, 2, 3]), [0], "SAME"),
      RangeError,
      "strides [0]",
    );
    throwsWith(
      () => lax.convTranspose(np.ones([1, 4, 2]), np.ones([2, 2, 3]), [2], "SAME_LOWER"),
      RangeError,
      'padding "SAME_LOWER"',
    );
    throwsWith(
      () => lax.convTranspose(np.ones([1, 4, 2]), np.ones([2, 2, 3]), [2], [[1, 1], [0, 0]]),
      RangeError,
      "1 integer [lo, hi] pairs",
    );
    throwsWith(
      () => lax.convTranspose(np.ones([1, 4, 2]), np.ones([2, 3, 3]), [2], "SAME"),
      TypeError,
      "lhs feature dimension 2",
      "rhs input feature dimension 3",
    );
  });
});

describe("lax extras", () => {
  test("preferredElementType float64 upcasts; conv / convWithGeneralPadding defaults; ints promote to float32", () => {
    const y = lax.convGeneralDilated(np.ones([1, 1, 3]), np.ones([1, 1, 2]), [1], "VALID", {
      preferredElementType: "float64",
    });
    assert.equal(y.dtype, "float64");
    assert.equal(
      lax.conv(np.array([[[1, 2, 3]]]), np.array([[[1, 1]]]), [1], "VALID").dtype,
      "float32",
    );
    assert.deepEqual(
      Array.from(lax.conv(np.array([[[1, 2, 3]]]), np.array([[[1, 1]]]), [2], "SAME").dataSync()),
      [3, 3],
    );
  });
  test("StableHLO spec example: lhs dilation 2, stride 4 -> [[10,26],[46,62]]", () => {
    const x = np.array([[1, 2, 5, 6], [3, 4, 7, 8], [10, 11, 14, 15], [12, 13, 16, 17]], {
      dtype: "float64",
    }).reshape([1, 4, 4, 1]);
    const y = lax.convGeneralDilated(x, np.ones([3, 3, 1, 1]), [4, 4], [[0, 0], [0, 0]], {
      lhsDilation: [2, 2],
      dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
    });
    assert.deepEqual(Array.from(y.dataSync()), [10, 26, 46, 62]);
  });
  test("convTranspose is the input-gradient of the forward conv (stride 2, PyTorch padding)", async () => {
    const x = randomArray([1, 5, 4, 2], 20), k = randomArray([3, 3, 2, 3], 21);
    const fwd = (a: Tensor) =>
      lax.convGeneralDilated(a, k, [2, 2], [[1, 1], [1, 1]], {
        dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
      });
    const yv = fwd(x);
    const g = randomArray(yv.shape, 22);
    const [, pull] = vjp(fwd, x);
    const [dx] = pull(g) as Tensor[];
    // gradient = conv_transpose with the kernel's I/O swapped and flipped (transposeKernel), consistent padding
    const t = lax.convTranspose(g, k, [2, 2], [[1, 1], [1, 1]], {
      transposeKernel: true,
      useConsistentPadding: true,
    });
    // the transposed conv reaches (Y-1)*2 + 3 - 2 = 3 rows of the 5-row input; compare the covered part
    assert.deepEqual(t.shape.slice(0, 1), [1]);
    const rows = t.shape[1], cols = t.shape[2];
    await assertAllClose(t, dx.slice(":", `:${rows}`, `:${cols}`).dataSync(), {
      rtol: 1e-12,
      atol: 1e-12,
    });
  });
  test("erf and gelu exact match SciPy values; lax.pad / dotGeneral wrappers", async () => {
    await assertAllClose(lax.erf(np.array([-0.5, 0.1, 3.5], { dtype: "float64" })), [
      -0.5204998778130465,
      0.1124629160182849,
      0.9999992569016276,
    ], { rtol: 1e-14, atol: 1e-15 });
    await assertAllClose(lax.pad(np.array([1, 2]), -1, [[2, -1, 1]]), [-1, -1, 1, -1]);
    await assertAllClose(
      lax.dotGeneral(np.ones([2, 3, 4]), np.ones([2, 4, 5]), [[[2], [1]], [[0], [0]]]).sum(),
      [2 * 3 * 5 * 4],
    );
  });
});

// Tests for kernels/render_js.ts's generic kernels (sizes, strides and constants as arguments of
// a function shared by every kernel of one structure): bit-identical to the literal rendering of
// the same kernel over many shapes (broadcasts, transposes, reductions, gathers, int32, bool,
// size-1 and empty axes), one compiled source per structure, and a bounded source cache.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { makeJaxpr, np, type Tensor } from "../mod.ts";
import { allocTyped, type DType, type TypedArray } from "../lib/dtype.ts";
import { hoistConsts } from "../lib/ir.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import { lowerJaxpr } from "../lib/compile/lower.ts";
import { jsKernelTuning, jsTemplateCount, renderKernel } from "./render_js.ts";

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 1e30, 88.8];

/** Random buffer contents (xorshift32), about one value in six special. */
function fill(d: DType, n: number, seed: number): TypedArray {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const a = allocTyped(d, n);
  for (let i = 0; i < n; i++) {
    const u = rand();
    if (d === "bool") a[i] = u < 0.5 ? 1 : 0;
    else if (d === "int32") a[i] = Math.floor((rand() - 0.5) * 40);
    else a[i] = u < 0.16 ? SPECIAL[Math.floor(rand() * SPECIAL.length)] : (rand() - 0.5) * 8;
  }
  return a;
}

/** Every kernel of `f` lowered on arguments of the given dtypes and shapes, with input sizes. */
function kernels(
  f: (...a: Tensor[]) => Tensor,
  args: [DType, number[]][],
): { kernel: Kernel; sizes: number[] }[] {
  const j = makeJaxpr(f)(...args.map(([d, s]) => np.zeros(s, { dtype: d })));
  const plan = lowerJaxpr(j.constVars.length ? hoistConsts(j) : j);
  const size = (b: number) => plan.avals[b].shape.reduce((x, y) => x * y, 1);
  return plan.steps.flatMap((s) =>
    s.kind === "kernel"
      ? [{ kernel: s.kernel, sizes: s.inputs.map(size) }]
      : s.epilogue
      ? [{ kernel: s.epilogue.kernel, sizes: s.epilogue.inputs.map(size) }]
      : []
  );
}

/** Index of the first bitwise difference (NaNs equal), or -1. */
function firstDiff(a: TypedArray, b: TypedArray): number {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** Generic and literal renderings of every kernel agree bit for bit; returns kernels checked. */
function check(label: string, f: (...a: Tensor[]) => Tensor, args: [DType, number[]][]): number {
  const ks = kernels(f, args);
  for (const [ki, { kernel, sizes }] of ks.entries()) {
    const generic = renderKernel(kernel, true), literal = renderKernel(kernel, false);
    const n = kernel.outShape.reduce((x, y) => x * y, 1);
    for (let seed = 1; seed <= 2; seed++) {
      const ins = kernel.inputs.map((d, i) => fill(d, sizes[i], seed * 31 + i));
      const want = allocTyped(kernel.outDtype, n), got = allocTyped(kernel.outDtype, n);
      literal(ins, want);
      generic(ins, got);
      const i = firstDiff(want, got);
      assert.equal(
        i,
        -1,
        `${label} k${ki} seed ${seed}: [${i}] literal ${want[i]} generic ${got[i]}`,
      );
    }
  }
  return ks.length;
}

const f32 = (...s: number[]): [DType, number[]] => ["float32", s];
const i32 = (...s: number[]): [DType, number[]] => ["int32", s];

describe("render_js: generic kernels", () => {
  test("match the literal kernels over many shapes", () => {
    let n = 0;
    for (const [a, b, c] of [[1, 1, 1], [2, 3, 4], [5, 1, 7], [3, 8, 2], [0, 4, 3], [9, 6, 5]]) {
      n += check(
        `chain ${a}×${b}×${c}`,
        (x, y) => np.tanh(x.mul(-0).add(np.transpose(y, [2, 0, 1])).mul(2.5)).add(-Infinity),
        [f32(a, b, c), f32(b, c, a)],
      );
      n += check(`broadcast ${a}×${b}×${c}`, (x, y) => np.where(np.greater(x, y), x, y.mul(3)), [
        f32(a, b, c),
        f32(b, 1),
      ]);
      for (const axis of [0, 1, 2]) {
        n += check(`max axis ${axis}`, (x) => np.max(x.mul(x), { axis }), [f32(a + 1, b, c)]);
        n += check(`sum axis ${axis}`, (x) => np.sum(np.exp(x), { axis }), [f32(a + 1, b, c)]);
      }
      n += check(
        `reshape-transpose ${a}×${b}×${c}`,
        (x) => np.reshape(np.transpose(np.reshape(x, [a, b * c]), [1, 0]), [b, c, a]).add(1),
        [f32(a, b, c)],
      );
      n += check(`int32 ${a}×${b}`, (x, y) => np.floorDivide(x.mul(y).add(7), 3), [
        i32(a, b),
        i32(a, b),
      ]);
      n += check(`slice-pad ${b}×${c}`, (x) => np.pad(x.slice("1:", ":-1"), 2), [
        f32(b + 1, c + 1),
      ]);
      n += check(
        `take ${b}×${c}`,
        (e, i) => np.take(np.exp(e), i, { axis: 1, mode: "clip" }).mul(2),
        [f32(b + 1, c + 2), i32(a + 1, 2)],
      );
    }
    assert.ok(n > 60, `only ${n} kernels`);
  });

  test("kernels of one structure share one compiled source", () => {
    const structure = (s: number) =>
      kernels((x) => np.sin(np.cos(np.sin(np.cos(np.sin(x).mul(0.25))))), [f32(s, 3)])[0];
    renderKernel(structure(2).kernel, true);
    const before = jsTemplateCount();
    for (let s = 3; s < 40; s++) {
      const { kernel, sizes } = structure(s), fn = renderKernel(kernel, true);
      const out = new Float32Array(3 * s);
      fn(kernel.inputs.map((d, i) => allocTyped(d, sizes[i]).fill(1)), out);
      const want = renderKernel(kernel, false), ref = new Float32Array(3 * s);
      want(kernel.inputs.map((d, i) => allocTyped(d, sizes[i]).fill(1)), ref);
      assert.deepEqual(out, ref);
      assert.ok(Number.isFinite(out[3 * s - 1]) && out[3 * s - 1] !== 0);
    }
    assert.equal(jsTemplateCount(), before);
  });

  test("the source cache stays bounded", () => {
    const saved = jsKernelTuning.maxSources;
    jsKernelTuning.maxSources = 8;
    try {
      for (let depth = 1; depth <= 30; depth++) {
        const f = (x: Tensor) => {
          let y = x;
          for (let i = 0; i < depth; i++) y = np.abs(y.add(i));
          return y;
        };
        renderKernel(kernels(f, [f32(4)])[0].kernel, true);
        assert.ok(jsTemplateCount() <= 8, `${jsTemplateCount()} sources kept`);
      }
    } finally {
      jsKernelTuning.maxSources = saved;
    }
  });

  test("small flat kernels render generic by default; large, strided and reducing ones literal", () => {
    const small = kernels((x) => np.exp(x), [f32(16)])[0].kernel;
    const large = kernels((x) => np.exp(x), [f32(jsKernelTuning.genericMaxWork)])[0].kernel;
    assert.match(String(renderKernel(small)), /Q\[0\]/);
    assert.doesNotMatch(String(renderKernel(large)), /Q\[0\]/);
    // strided loops and reductions keep literals (constant strides index faster)
    const strided = kernels((x) => np.transpose(x).add(1), [f32(4, 5)])[0].kernel;
    const reduction = kernels((x) => np.sum(x, { axis: 1 }), [f32(4, 5)])[0].kernel;
    assert.doesNotMatch(String(renderKernel(strided)), /Q\[0\]/);
    assert.doesNotMatch(String(renderKernel(reduction)), /Q\[0\]/);
  });
});

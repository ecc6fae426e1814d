/**
 * `fft` on WebGPU (kernels/wgsl/fft.ts) vs the CPU backend at radix, generic-odd and Bluestein
 * lengths; NumPy/SciPy fixtures in float32; N-d, norm modes, jit, vmap, gradients; one submission
 * per jitted call, twiddles uploaded once. Skipped where there is no WebGPU.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, lax, np, type Tensor, valueAndGrad, vmap } from "../mod.ts";
import * as signal from "../lib/signal.ts";
import { fft as fftP, type FftType } from "../lib/ops/fft.ts";
import { simulateLimits, webgpuStats } from "../lib/backend/webgpu/backend.ts";
import { fftTuning } from "../lib/backend/webgpu/plan.ts";
import { allCloseReport } from "./_test_utils.ts";
import { onBackend } from "./_prop_util.ts";
import { webgpuReady } from "./_webgpu_env.ts";
import data from "./fixtures/fft_cases.json" with { type: "json" };

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

interface Spec {
  shape: number[];
  dtype: string;
  data: number[];
}

/** Deterministic values in [-2, 2). */
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 2 * Math.sin(seed * 12.9898 + i * 78.233));
}

const f32 = (shape: number[], seed: number) =>
  np.array(values(shape.reduce((a, b) => a * b, 1), seed), { shape, dtype: "float32" });

/** Asserts |got - want| ≤ tol · max|want| elementwise (NaN positions must agree). */
function assertRelMax(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  let mx = 0;
  for (let i = 0; i < want.length; i++) mx = Math.max(mx, Math.abs(want[i]) || 0);
  const report = allCloseReport(got, want, { rtol: 0, atol: tol * (mx || 1) });
  if (report !== null) assert.fail(`${what}: ${report}`);
}

/** `f` on the webgpu and cpu backends (arguments built by `args` on each); values compared. */
async function sameOnBoth(
  what: string,
  args: () => Tensor[],
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  tol = 1e-5,
): Promise<void> {
  const run = () => {
    const r = f(...args());
    return Array.isArray(r) ? r : [r];
  };
  const want = onBackend("cpu", run), got = onBackend("webgpu", run);
  const [w, g] = await Promise.all([
    Promise.all(want.map((t) => t.data())),
    Promise.all(got.map((t) => t.data())),
  ]);
  want.forEach((t, k) => {
    assert.deepEqual(got[k].shape, t.shape, `${what}: shape`);
    assert.equal(got[k].dtype, t.dtype, `${what}: dtype`);
    assertRelMax(g[k] as ArrayLike<number>, w[k] as ArrayLike<number>, tol, `${what} [${k}]`);
  });
}

const LENGTHS = [1, 2, 3, 4, 5, 7, 8, 12, 97, 1000, 1792, 4096, 10007];

/** Runs `fn` with short lines in workgroup memory on (or off), whatever the adapter. */
async function withShared(on: boolean, fn: () => Promise<void>): Promise<void> {
  fftTuning.shared = on;
  simulateLimits(null); // drops the plans compiled before
  try {
    await fn();
  } finally {
    fftTuning.shared = null;
    simulateLimits(null);
  }
}

describe("webgpu fft: every type and length vs the cpu backend", { skip }, () => {
  for (const n of LENGTHS) {
    test(`n = ${n} (batched, eager and jit)`, async () => {
      const m = (n >> 1) + 1;
      const cases: [FftType, number[]][] = [
        ["FFT", [3, n, 2]],
        ["IFFT", [2, n, 2]],
        ["RFFT", [3, n]],
        ["IRFFT", [2, m, 2]],
      ];
      // workgroup memory: short lines only (llvmpipe compiles its long unrolled kernels slowly)
      for (const shared of n <= 128 ? [false, true] : [false]) {
        await withShared(shared, async () => {
          for (const [type, shape] of cases) {
            const f = (x: Tensor) => fftP(x, type, [n]);
            const what = `${type} ${n}${shared ? " (workgroup memory)" : ""}`;
            await sameOnBoth(what, () => [f32(shape, n)], (x) => [f(x), jit(f)(x)]);
          }
        });
      }
    });
  }
  test("2^16 points: within 1e-5 of the cpu (float64) result", async () => {
    await sameOnBoth("FFT 65536", () => [f32([1 << 16, 2], 3)], (x) => fftP(x, "FFT", [1 << 16]));
    await sameOnBoth(
      "RFFT 65536",
      () => [f32([1 << 16], 4)],
      (x) => fftP(x, "RFFT", [1 << 16]),
    );
  });
  test("N-d: trailing axes of mixed lengths (radix, generic, Bluestein), all types", async () => {
    const f = (x: Tensor, t: FftType, l: number[]) => fftP(x, t, l);
    await sameOnBoth("FFT [6,97]", () => [f32([2, 6, 97, 2], 1)], (x) => f(x, "FFT", [6, 97]));
    await sameOnBoth("IFFT [5,1,7]", () => [f32([5, 1, 7, 2], 2)], (x) => f(x, "IFFT", [5, 1, 7]));
    await sameOnBoth("RFFT [5,6,7]", () => [f32([5, 6, 7], 3)], (x) => f(x, "RFFT", [5, 6, 7]));
    await sameOnBoth("RFFT [1,8]", () => [f32([3, 1, 8], 4)], (x) => f(x, "RFFT", [1, 8]));
    await sameOnBoth(
      "IRFFT [5,6]→[5,10]",
      () => [f32([5, 6, 2], 5)],
      (x) => f(x, "IRFFT", [5, 10]),
    );
    await sameOnBoth(
      "IRFFT [67,4]→[67,7]",
      () => [f32([67, 4, 2], 6)],
      (x) => f(x, "IRFFT", [67, 7]),
    );
    for (const shared of [false, true]) {
      await withShared(shared, async () => {
        // long strided axes: lines 3 apart (passes), and short ones in workgroup memory
        await sameOnBoth(
          "FFT [2048,3]",
          () => [f32([2048, 3, 2], 7)],
          (x) => f(x, "FFT", [2048, 3]),
        );
        await sameOnBoth(
          "IFFT [56,5]",
          () => [f32([2, 56, 5, 2], 8)],
          (x) => f(x, "IFFT", [56, 5]),
        );
      });
    }
  });
  test("size-0 batches give empty results", async () => {
    await sameOnBoth("FFT [0,4,2]", () => [f32([0, 4, 2], 1)], (x) => fftP(x, "FFT", [4]));
    await sameOnBoth("RFFT [0,6]", () => [f32([0, 6], 1)], (x) => fftP(x, "RFFT", [6]));
  });
});

describe("webgpu fft: np.fft", { skip }, () => {
  type Fn = (a: Tensor, opts?: Record<string, unknown>) => Tensor;
  const FNS = np.fft as unknown as Record<string, Fn>;
  /** A fixture operand in 32-bit storage (complex128 → complex64, float64 → float32). */
  const arr32 = (s: Spec) =>
    np.array(Float32Array.from(s.data), {
      dtype: (s.dtype.startsWith("complex") ? "complex64" : "float32") as "float32",
      shape: s.shape,
    });
  test("the NumPy fixtures in float32 / complex64 (eager)", async () => {
    const cases = (data as unknown as {
      cases: {
        fn: string;
        name: string;
        input: Spec;
        opts: Record<string, unknown>;
        expected: Spec;
      }[];
    }).cases;
    for (const c of cases) {
      const y = onBackend("webgpu", () => FNS[c.fn](arr32(c.input), c.opts));
      const what = `${c.fn} ${c.name} ${JSON.stringify(c.opts)}`;
      assert.deepEqual(y.shape, c.expected.shape, `${what}: shape`);
      assert.equal(y.dtype, c.expected.dtype.replace("128", "64").replace("float64", "float32"));
      assertRelMax(await y.data() as Float32Array, c.expected.data, 2e-5, what);
    }
  });
  test("norm modes, n / s, and axes other than the last (strided lines)", async () => {
    const z = () => [lax.complex(f32([6, 10, 4], 1), f32([6, 10, 4], 2))];
    for (const norm of ["backward", "ortho", "forward"] as const) {
      await sameOnBoth(`fft axis 1 ${norm}`, z, (x) => np.fft.fft(x, { axis: 1, norm }));
      await sameOnBoth(
        `ifft n 13 axis 0 ${norm}`,
        z,
        (x) => np.fft.ifft(x, { n: 13, axis: 0, norm }),
      );
      await sameOnBoth(`fftn ${norm}`, z, (x) => np.fft.fftn(x, { norm }));
      await sameOnBoth(
        `ifft2 axes [0, 2] ${norm}`,
        z,
        (x) => np.fft.ifft2(x, { axes: [0, 2], norm }),
      );
      await sameOnBoth(
        `rfftn s ${norm}`,
        () => [f32([6, 10, 4], 3)],
        (x) => np.fft.rfftn(x, { s: [5, 9], axes: [0, 1], norm }),
      );
      await sameOnBoth(`irfftn ${norm}`, z, (x) => np.fft.irfftn(x, { norm }));
    }
  });
  test("jit matches eager; vmap matches a loop", async () => {
    const f = (x: Tensor) => np.fft.irfft2(np.multiply(np.fft.rfft2(x), 0.5), { s: [4, 9] });
    await sameOnBoth("jit(rfft2 → irfft2)", () => [f32([2, 4, 9], 7)], (x) => [jit(f)(x), f(x)]);
    const g = (x: Tensor) => np.fft.fft(x, { n: 12 });
    const xs = () => [lax.complex(f32([4, 9], 8), f32([4, 9], 9))];
    await sameOnBoth("vmap(fft)", xs, (x) => vmap(g)(x));
    const batched = onBackend("webgpu", () => vmap(g)(xs()[0]));
    for (let i = 0; i < 4; i++) {
      const row = onBackend("webgpu", () => g((xs()[0].slice([i]) as Tensor).reshape([9])));
      const b = onBackend("webgpu", () => (batched.slice([i]) as Tensor).reshape([12]));
      assertRelMax(await b.data() as Float32Array, await row.data() as Float32Array, 1e-6, "row");
    }
  });
  test("NaN propagates", async () => {
    const y = await onBackend("webgpu", () => np.fft.fft(np.array([1, NaN, 3]))).data();
    assert.ok([0, 2, 4].every((i) => Number.isNaN(y[i])), "every real part is NaN (as NumPy)");
  });
});

describe("webgpu fft: gradients vs the cpu backend", { skip }, () => {
  const w = (shape: number[], seed: number) => f32(shape, seed);
  test("fft / ifft / fft2 / rfft / irfft (odd and even n): valueAndGrad, eager and jit", async () => {
    const loss = (y: Tensor, a: Tensor, b: Tensor) =>
      np.add(np.sum(np.multiply(np.real(y), a)), np.sum(np.multiply(np.imag(y), b)));
    const fns: [string, (x: Tensor, y: Tensor) => Tensor][] = [
      ["fft", (x, y) => loss(np.fft.fft(lax.complex(x, y)), w([3, 6], 3), w([3, 6], 4))],
      ["ifft", (x, y) => loss(np.fft.ifft(lax.complex(x, y)), w([3, 6], 3), w([3, 6], 4))],
      [
        "fft2 ortho",
        (x, y) =>
          loss(np.fft.fft2(lax.complex(x, y), { norm: "ortho" }), w([3, 6], 3), w([3, 6], 4)),
      ],
      ["rfft", (x) => loss(np.fft.rfft(x), w([3, 4], 5), w([3, 4], 6))],
      [
        "irfft 7",
        (x, y) => np.sum(np.multiply(np.fft.irfft(lax.complex(x, y), { n: 11 }), w([3, 11], 7))),
      ],
      [
        "irfft 10",
        (x, y) => np.sum(np.multiply(np.fft.irfft(lax.complex(x, y), { n: 10 }), w([3, 10], 7))),
      ],
    ];
    for (const [name, f] of fns) {
      const vg = valueAndGrad(f, { argnums: [0, 1] });
      await sameOnBoth(name, () => [f32([3, 6], 1), f32([3, 6], 2)], (x, y) => {
        const [v, [gx, gy]] = vg(x, y) as [Tensor, Tensor[]];
        const [jv, [jx, jy]] = jit(vg)(x, y) as [Tensor, Tensor[]];
        return [v, gx, gy, jv, jx, jy];
      }, 2e-5);
    }
  });
  test("second order through rfft and irfft", async () => {
    const f = (x: Tensor) => np.sum(np.square(np.fft.irfft(np.fft.rfft(np.multiply(x, x)))));
    await sameOnBoth(
      "grad(grad)",
      () => [f32([8], 2)],
      (x) => grad((y: Tensor) => np.sum(grad(f)(y)))(x),
      2e-5,
    );
  });
});

describe("webgpu fft: convolution vs SciPy", { skip }, () => {
  interface ConvCase {
    name: string;
    a: Spec;
    b: Spec;
    axes: number[] | null;
    modes: Record<string, { conv: Spec; corr?: Spec }>;
  }
  const arr = (s: Spec) =>
    np.array(Float32Array.from(s.data), { dtype: "float32", shape: s.shape });
  for (const c of (data as unknown as { conv: ConvCase[] }).conv) {
    test(`${c.name}: fftconvolve, oaconvolve, convolve fft / auto, correlate`, async () => {
      for (const [mode, want] of Object.entries(c.modes)) {
        const m = mode as "full" | "same" | "valid";
        const opts = c.axes ? { mode: m, axes: c.axes } : { mode: m };
        const ys = onBackend("webgpu", () => {
          const a = arr(c.a), b = arr(c.b);
          const out: [string, Tensor, Spec][] = [
            ["fftconvolve", signal.fftconvolve(a, b, opts), want.conv],
            ["oaconvolve", signal.oaconvolve(a, b, opts), want.conv],
          ];
          if (!c.axes) {
            out.push(["convolve auto", signal.convolve(a, b, { mode: m }), want.conv]);
            out.push([
              "convolve fft",
              signal.convolve(a, b, { mode: m, method: "fft" }),
              want.conv,
            ]);
          }
          if (want.corr) {
            out.push(["correlate", signal.correlate(a, b, { mode: m, method: "fft" }), want.corr]);
          }
          return out;
        });
        for (const [name, y, spec] of ys) {
          assert.deepEqual(y.shape, spec.shape, `${name} ${mode}: shape`);
          assertRelMax(await y.data() as Float32Array, spec.data, 2e-5, `${name} ${mode}`);
        }
      }
    });
  }
  test("gradients of fftconvolve / oaconvolve in both operands match the cpu backend", async () => {
    for (const mode of ["full", "same", "valid"] as const) {
      const f = (x: Tensor, y: Tensor) =>
        np.sum(
          np.multiply(
            signal.fftconvolve(x, y, { mode }),
            np.sin(signal.oaconvolve(x, y, { mode })),
          ),
        );
      await sameOnBoth(`grad ${mode}`, () => [f32([40], 1), f32([6], 2)], (x, y) => {
        const gs = grad(f, { argnums: [0, 1] })(x, y) as unknown as Tensor[];
        const js = jit(grad(f, { argnums: [0, 1] }))(x, y) as unknown as Tensor[];
        return [...gs, ...js];
      }, 5e-5);
    }
  });
});

describe("webgpu fft: how it runs", { skip }, () => {
  test("inside a jitted lax.scan body (and its gradient)", async () => {
    const step = (c: Tensor, x: Tensor): [Tensor, Tensor] => {
      const y = np.fft.irfft(np.multiply(np.fft.rfft(np.add(c, x)), 0.5), { n: 12 });
      return [np.tanh(y), np.sum(y)];
    };
    const f = (c: Tensor, xs: Tensor) => {
      const [last, ys] = lax.scan(step, c, xs);
      return np.add(np.sum(last), np.sum(ys));
    };
    await sameOnBoth("scan", () => [f32([12], 1), f32([5, 12], 2)], (c, xs) => {
      const [v, g] = jit(valueAndGrad(f))(c, xs) as [Tensor, Tensor];
      return [v, g];
    }, 2e-5);
  });
  test("a jitted 2^16-point FFT is one submission per call; twiddles upload once", async () => {
    const f = jit((x: Tensor) => np.fft.fft(x));
    const x = onBackend("webgpu", () => lax.complex(f32([1 << 16], 1), f32([1 << 16], 2)));
    await onBackend("webgpu", () => f(x)).data(); // compile, upload the twiddles
    const stats = webgpuStats()!;
    for (let i = 0; i < 2; i++) {
      const sub0 = stats.submits, up0 = stats.uploads, s0 = stats.syncs, d0 = stats.dispatches;
      await onBackend("webgpu", () => f(x)).data();
      assert.equal(stats.syncs - s0, 1, "syncs per call");
      assert.ok(stats.submits - sub0 <= 2, `submits per call: ${stats.submits - sub0}`);
      assert.equal(stats.uploads - up0, 0, "uploads per call");
      // 2^16 = 8^5 · 2: six passes (plus the complex packing kernels around them)
      assert.ok(stats.dispatches - d0 >= 6, `dispatches: ${stats.dispatches - d0}`);
    }
  });
  test("eager calls reuse the plan and its uploaded constants", async () => {
    const x = onBackend("webgpu", () => f32([5, 97, 2], 3));
    await onBackend("webgpu", () => fftP(x, "FFT", [97])).data();
    const stats = webgpuStats()!, up0 = stats.uploads, c0 = stats.compiles;
    await onBackend("webgpu", () => fftP(x, "FFT", [97])).data();
    assert.equal(stats.uploads - up0, 0, "uploads");
    assert.equal(stats.compiles - c0, 0, "pipeline compiles");
  });
});

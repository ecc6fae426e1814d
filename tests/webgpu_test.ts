/**
 * The WebGPU backend against the reference backend: every primitive's samples (eager and jit,
 * float32), the NumPy fixtures, the convolution fixtures (forward and both VJPs), a conv training
 * step's gradients, buffer release, the dataSync error, float64 rejection and the number of GPU→JS
 * syncs per jitted call. Skipped where the runtime has no WebGPU (Bun, Node).
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bind } from "../lib/core.ts";
import { OPS } from "../lib/ops/registry.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import {
  getBackend,
  grad,
  init,
  jit,
  lax,
  np,
  random,
  setBackend,
  type Tensor,
  vjp,
} from "../mod.ts";
import { type ConvOptions, type Padding, resolveConvParams } from "../lib/ops/conv_params.ts";
import { convOp } from "../lib/ops/conv.ts";
import { lowerOp } from "../lib/compile/lower.ts";
import { compileGpuPlan, lowerOptions } from "../lib/backend/webgpu/plan.ts";
import {
  defaultConvVariant,
  liveBuffers,
  setConvVariant,
  webgpuRuntime,
  webgpuStats,
} from "../lib/backend/webgpu/backend.ts";
import { buildArgs, hostTensor, OP_SAMPLES, paramsOf, type Sample } from "./_op_samples.ts";
import { applyOp } from "./_op_samples_complex.ts";
import {
  allCloseReport,
  arrayFromSpec,
  type ArraySpec,
  assertMatchesSpec,
  decodeArg,
  type FixtureArg,
} from "./_test_utils.ts";
import npData from "./fixtures/np_ops.json" with { type: "json" };
import npMore from "./fixtures/np_more.json" with { type: "json" };
import frontData from "./fixtures/conv_frontend_cases.json" with { type: "json" };
import * as nn from "../lib/nn.ts";
import * as signal from "../lib/signal.ts";
import convData from "./fixtures/conv_cases.json" with { type: "json" };
import { webgpuReady } from "./_webgpu_env.ts";
import { LINALG_OPS } from "../kernels/wgsl/linalg_ops.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";
const SHARED_OK = READY && webgpuRuntime()!.limits.maxComputeInvocationsPerWorkgroup >= 256;
const skipShared = skip ||
  (!SHARED_OK && "the device allows fewer than 256 invocations per workgroup");

test("init() registers webgpu only where the runtime has it; the cpu backend stays the default", async () => {
  const names = await init();
  assert.equal(names.includes("webgpu"), READY);
  assert.ok(names.includes("cpu"));
  assert.equal(getBackend(), "cpu");
});

/** Runs `fn` with `name` as the default backend. */
async function on<R>(name: string, fn: () => R | Promise<R>): Promise<R> {
  const prev = getBackend();
  setBackend(name);
  try {
    return await fn();
  } finally {
    setBackend(prev);
  }
}

/** Float32 tolerance for GPU vs reference (transcendentals and summation order differ). */
const TOL = { rtol: 2e-5, atol: 2e-6 };
const LINALG_TOL = { rtol: 1e-4, atol: 1e-5 };
const tolFor = (dtype: string) => (dtype === "float32" ? TOL : { rtol: 0, atol: 0 });

const has64 = (s: Sample) => JSON.stringify(paramsOf(s, "float32")).includes("float64");

describe("webgpu: primitives vs reference (float32, eager and jit)", () => {
  for (const [name, op] of Object.entries(OPS) as [string, OpDef][]) {
    for (const s of OP_SAMPLES[name].samples) {
      test(`${name} (${s.label})`, { skip }, async () => {
        const params = paramsOf(s, "float32");
        const run = () => {
          const eager = applyOp(op, buildArgs(s, "float32", 7), params);
          const jitted = (jit((...xs: Tensor[]) => [applyOp(op, xs, params)])(
            ...buildArgs(s, "float32", 7),
          ) as Tensor[])[0];
          return [eager, jitted];
        };
        if (op.kind === "linalg" && name !== "fft" && !LINALG_OPS.has(name)) {
          // linalg primitives without a WGSL kernel (docs/linalg.md): a clear TypeError
          await on("webgpu", () => assert.throws(run, new RegExp(`${name} has no WebGPU kernel`)));
          return;
        }
        if (has64(s)) {
          await on("webgpu", () => assert.throws(run, TypeError));
          return;
        }
        const ref = (await on("reference", run))[0];
        const want = await ref.data();
        const got = await on("webgpu", run);
        const datas = await Promise.all(got.map((g) => g.data())); // one sync for both
        for (const [k, g] of got.entries()) {
          const what = k === 0 ? "eager" : "jit";
          assert.deepEqual(g.shape, ref.shape, `${what}: shape`);
          assert.equal(g.dtype, ref.dtype, `${what}: dtype`);
          // linalg kernels factor in float32 (the reference in float64, then rounds)
          const tol = op.kind === "linalg" ? LINALG_TOL : tolFor(g.dtype);
          const report = allCloseReport(datas[k], want, tol);
          if (report !== null) assert.fail(`${what}: ${report}`);
        }
      });
    }
  }
});

interface NpCase {
  name: string;
  fn: string;
  args: FixtureArg[];
  kwargs?: Record<string, unknown>;
  expected: ArraySpec | ArraySpec[];
  rtol?: number;
  atol?: number;
}

function invoke(fn: string, args: unknown[], kwargs?: Record<string, unknown>): unknown {
  const all = kwargs === undefined ? args : [...args, kwargs];
  if (fn.startsWith("method:")) {
    const self = all[0] as Record<string, (...a: unknown[]) => unknown>;
    return self[fn.slice(7)].apply(self, all.slice(1));
  }
  return (np as unknown as Record<string, (...a: unknown[]) => unknown>)[fn](...all);
}

describe("webgpu: NumPy fixtures", () => {
  const cases = [npData, npMore].flatMap((d) => (d as unknown as { cases: NpCase[] }).cases);
  // WebGPU holds every dtype but float64 (the narrow ints and float16 too: #13 item 5)
  const other = /"float64"/;
  for (const c of cases) {
    const specs = Array.isArray(c.expected) ? c.expected : [c.expected];
    const f64 = other.test(JSON.stringify([c.args, c.kwargs ?? {}, specs.map((e) => e.dtype)]));
    const why = f64 && "float64 is not supported on WebGPU";
    test(`${c.name}`, { skip: skip || why }, async () => {
      await on("webgpu", async () => {
        const result = invoke(c.fn, c.args.map(decodeArg), c.kwargs);
        const outs = Array.isArray(c.expected) ? (result as Tensor[]) : [result];
        const tol = {
          rtol: Math.max(c.rtol ?? 0, TOL.rtol),
          atol: Math.max(c.atol ?? 0, TOL.atol),
        };
        for (let i = 0; i < specs.length; i++) {
          await assertMatchesSpec(outs[i], specs[i], tol, `output ${i}`);
        }
      });
    });
  }
});

interface ConvCase {
  name: string;
  lhsShape: number[];
  rhsShape: number[];
  windowStrides: number[];
  padding: Padding;
  opts: ConvOptions;
  outShape: number[];
  lhs: number[];
  rhs: number[];
  out: number[];
  g?: number[];
  dlhs?: number[];
  drhs?: number[];
}

async function checkConvCase(c: ConvCase): Promise<void> {
  await on("webgpu", async () => {
    const p = resolveConvParams(c.lhsShape, c.rhsShape, c.windowStrides, c.padding, c.opts);
    const l = hostTensor(c.lhs, c.lhsShape, "float32"),
      r = hostTensor(c.rhs, c.rhsShape, "float32");
    const f = (a: Tensor, b: Tensor) => bind(OPS.conv, [a, b], p)[0];
    const tol = { rtol: 1e-4, atol: 1e-5 };
    const eager = f(l, r);
    assert.deepEqual(eager.shape, c.outShape);
    const rep = allCloseReport(await eager.data(), c.out, tol);
    if (rep) assert.fail(`forward: ${rep}`);
    const rj = allCloseReport(await (jit(f)(l, r) as Tensor).data(), c.out, tol);
    if (rj) assert.fail(`jit forward: ${rj}`);
    if (c.g) {
      const [, pull] = vjp(f, l, r);
      const [dl, dr] = pull(hostTensor(c.g, c.outShape, "float32")) as Tensor[];
      const a = allCloseReport(await dl.data(), c.dlhs!, tol),
        b = allCloseReport(await dr.data(), c.drhs!, tol);
      if (a || b) assert.fail(`vjp: ${a ?? ""} ${b ?? ""}`);
    }
  });
}

describe("webgpu: convolution fixtures", () => {
  const cases = (convData as unknown as { cases: ConvCase[] }).cases;
  for (const c of cases) test(`${c.name}`, { skip }, () => checkConvCase(c));
  test(
    "shared-memory variant matches the fixtures too (every third case)",
    { skip: skipShared },
    async () => {
      setConvVariant("shared");
      try {
        for (const c of cases.filter((_, i) => i % 3 === 0)) await checkConvCase(c);
      } finally {
        setConvVariant(defaultConvVariant());
      }
    },
  );
});

/** A small conv net loss: conv + bias + relu, conv, mean square. */
function loss(params: { w1: Tensor; b1: Tensor; w2: Tensor }, x: Tensor): Tensor {
  let h = lax.convGeneralDilated(x, params.w1, [1, 1], "SAME");
  h = np.maximum(h.add(params.b1.reshape([1, -1, 1, 1])), 0);
  const y = lax.convGeneralDilated(h, params.w2, [2, 2], "VALID");
  return np.mean(y.mul(y));
}

function netInputs(seed: number) {
  let s = seed;
  const rnd = (n: number) =>
    Array.from(
      { length: n },
      () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5,
    );
  const t = (shape: number[]) =>
    np.array(rnd(shape.reduce((a, b) => a * b, 1)), { dtype: "float32" }).reshape(shape);
  return { params: { w1: t([4, 3, 3, 3]), b1: t([4]), w2: t([2, 4, 2, 2]) }, x: t([2, 3, 8, 8]) };
}

interface FrontendCase {
  name: string;
  fn: string;
  args: FixtureArg[];
  expected: ArraySpec;
  rtol: number;
  atol: number;
  biasArg?: ArraySpec;
  vjp?: { argnums: number[]; cotangent: ArraySpec; grads: ArraySpec[] };
}

describe("webgpu: conv front-end fixtures (every fourth case, in float32)", () => {
  const NS: Record<string, Record<string, unknown>> = { lax, nn, signal };
  const all = (frontData as unknown as { cases: FrontendCase[] }).cases;
  const cases = all.filter((c, i) => i % 4 === 0 && !JSON.stringify(c).includes("int32"));
  for (const c0 of cases) {
    test(c0.name, { skip }, async () => {
      // float64 fixtures run in float32 (WebGPU has no float64), with float32 tolerances
      const c = JSON.parse(JSON.stringify(c0).replaceAll('"float64"', '"float32"')) as FrontendCase;
      const tol = { rtol: Math.max(c.rtol, 2e-4), atol: Math.max(c.atol, 2e-4) };
      const [ns, name] = c.fn.split(".");
      const f = NS[ns][name] as (...a: unknown[]) => Tensor;
      await on("webgpu", async () => {
        const args = c.args.map(decodeArg);
        if (c.biasArg) {
          const last = args.length - 1;
          args[last] = { ...(args[last] as object), bias: arrayFromSpec(c.biasArg) };
        }
        await assertMatchesSpec(f(...args), c.expected, tol);
        if (c.vjp) {
          const v = c.vjp;
          const xs = v.argnums.map((a) => args[a] as Tensor);
          const g = (...ys: Tensor[]) =>
            f(...args.map((a, i) => (v.argnums.includes(i) ? ys[v.argnums.indexOf(i)] : a)));
          const [, pull] = vjp(g, ...xs);
          const grads = pull(arrayFromSpec(v.cotangent)) as Tensor[];
          for (let i = 0; i < v.grads.length; i++) {
            await assertMatchesSpec(grads[i], v.grads[i], tol, `grad ${i}`);
          }
        }
      });
    });
  }
});

describe("webgpu: contraction kernel paths", () => {
  const rnd = (shape: number[], seed: number) => {
    let s = seed;
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Array.from(
      { length: n },
      () => ((s = (s * 69069 + 1) % 4294967296) / 4294967296) - 0.5,
    );
    return np.array(v, { dtype: "float32" }).reshape(shape);
  };
  const cases: [string, number[], number[], number[], Padding][] = [
    ["split-K with a narrow workgroup (weight gradient over 40x40)", [2, 3, 40, 40], [4, 3, 3, 3], [
      1,
      1,
    ], "SAME"],
    ["split over input features (dense, 3000 rows)", [3000, 8], [4, 8], [], "VALID"],
    ["split over taps (1-d, 600 samples)", [1, 2, 600], [3, 2, 5], [2], "VALID"],
    ["split-K with a narrow workgroup (1-d, 3000 samples)", [1, 2, 3000], [3, 2, 5], [2], "VALID"],
    ["row-vector kernel (3x3 SAME, rows of 32)", [2, 5, 12, 32], [12, 5, 3, 3], [1, 1], "SAME"],
    [
      "row-vector kernel (5x3, row padding 2/0, stride 2 across rows)",
      [2, 3, 9, 16],
      [6, 3, 5, 3],
      [
        2,
        1,
      ],
      [[2, 1], [2, 0]],
    ],
    ["row-vector kernel (1-d, 36 samples, 9 features)", [3, 4, 36], [9, 4, 5], [1], "VALID"],
    [
      "tap-vector kernel (weight gradient, stride 2 across rows, 6 features)",
      [3, 5, 24, 32],
      [
        6,
        5,
        3,
        3,
      ],
      [2, 1],
      "SAME",
    ],
    // software adapters: few features over long rows (kernels/wgsl/conv_1d.ts), forward and
    // data gradient; outputs not a multiple of the block, windows not vec4-aligned
    ["1-d window kernel (3 features, 37 taps, 268 outputs)", [3, 2, 304], [3, 2, 37], [1], "VALID"],
    ["1-d window kernel (2 features, padding 5/13)", [2, 1, 200], [2, 1, 23], [1], [[5, 13]]],
    ["1-d window kernel (4 features, 101 taps SAME)", [2, 1, 1000], [4, 1, 101], [1], "SAME"],
  ];
  test("1-d window kernel: chosen for its cases on software adapters", {
    skip: skip || !webgpuRuntime()!.software,
  }, async () => {
    for (const [label, xs, ws, strides, pad] of cases) {
      if (!label.startsWith("1-d window")) continue;
      const p = resolveConvParams(xs, ws, strides, pad);
      const a = (shape: number[]) => ({ shape, dtype: "float32" as const, weak: false });
      const out = convOp.abstractEval([a(xs), a(ws)], p)[0];
      const rt = webgpuRuntime()!, opt = { convVariant: "register" as const };
      const gp = compileGpuPlan(
        rt,
        lowerOp(convOp, p, [a(xs), a(ws)], [out], lowerOptions(rt, opt)),
        opt,
      );
      const codes = gp.steps.flatMap((s) =>
        s.kind === "gpu" ? s.dispatches.map((d) => d.code) : []
      );
      assert.ok(
        codes.some((c) => c.includes("fn ld(")),
        `${label}: sliding-window kernel not chosen`,
      );
      // forward, eager and jitted (the backend keeps these convs as conv steps)
      const f = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, strides, pad);
      const want = await on("cpu", () => f(rnd(xs, 1), rnd(ws, 2)).dataSync());
      for (const h of [f, jit(f)]) {
        const got = await on("webgpu", () => (h(rnd(xs, 1), rnd(ws, 2)) as Tensor).data());
        const rep = allCloseReport(got, want, { rtol: 2e-4, atol: 1e-4 });
        if (rep) assert.fail(`${label} forward: ${rep}`);
      }
    }
  });
  for (const variant of ["register", "shared"] as const) {
    for (const [label, xs, ws, strides, pad] of cases) {
      // the row-, tap-vector and 1-d window cases exercise register-variant paths only
      if (variant === "shared" && /^(row|tap)-vector|^1-d window/.test(label)) continue;
      const sk = variant === "shared" ? skipShared : skip;
      test(`${variant}: ${label}: both gradients match the cpu backend`, { skip: sk }, async () => {
        setConvVariant(variant);
        try {
          await checkConvGrads(xs, ws, strides, pad);
        } finally {
          setConvVariant(defaultConvVariant());
        }
      });
    }
  }
  test("register: 1-d window kernel with 2 feature groups: both gradients match", {
    skip,
  }, () => checkConvGrads([2, 4, 256], [4, 2, 9], [1], [[3, 2]], { featureGroupCount: 2 }));
  async function checkConvGrads(
    xs: number[],
    ws: number[],
    strides: number[],
    pad: Padding,
    opts: ConvOptions = {},
  ) {
    const f = (x: Tensor, w: Tensor) =>
      np.sum(np.square(lax.convGeneralDilated(x, w, strides, pad, opts)));
    const g = grad(f, { argnums: [0, 1] });
    const want = await on(
      "cpu",
      () => (g(rnd(xs, 1), rnd(ws, 2)) as Tensor[]).map((t) => t.dataSync()),
    );
    const got = await on("webgpu", async () => {
      const r = g(rnd(xs, 1), rnd(ws, 2)) as Tensor[];
      return await Promise.all(r.map((t) => t.data()));
    });
    for (let i = 0; i < 2; i++) {
      const rep = allCloseReport(got[i], want[i], { rtol: 2e-4, atol: 1e-4 });
      if (rep) assert.fail(`grad ${i}: ${rep}`);
    }
  }
  test("fused elementwise kernels four elements per invocation match the cpu backend", {
    skip,
  }, async () => {
    const x = () => rnd([3, 8, 12], 6), b = () => rnd([8], 7);
    const fs: ((a: Tensor, c: Tensor) => Tensor)[] = [
      (a, c) =>
        np.where(np.greater(a, np.reshape(c, [1, 8, 1])), np.multiply(a, 2), np.negative(a)),
      (a) => np.multiply(np.maximum(a, 0), 3),
      (a) => np.astype(np.greater(a, 0.1), "int32").add(np.astype(np.less(a, 0), "int32")),
      (a, c) => np.transpose(a, [0, 2, 1]).add(np.reshape(c, [1, 1, 8])),
      (a) => np.astype(np.logicalOr(np.greater(a, 0.2), np.less(a, -0.3)), "float32"),
    ];
    for (const f of fs) {
      const want = await on("cpu", () => f(x(), b()).dataSync());
      const got = await on("webgpu", () => (jit(f)(x(), b()) as Tensor).data());
      const rep = allCloseReport(got, want, { rtol: 1e-6, atol: 1e-6 });
      if (rep) assert.fail(rep);
    }
  });
  test("reductions of few outputs over many elements (split in two passes)", { skip }, async () => {
    const x = () => rnd([3, 20000], 5);
    const fs = [
      (a: Tensor) => np.sum(a, { axis: 1 }),
      (a: Tensor) => np.max(a, { axis: 1 }),
      (a: Tensor) => np.exp(np.multiply(np.sum(np.square(a)), 0.001)),
      // four-wide loads with a per-output operand; a strided (transposed) read stays scalar
      (a: Tensor) =>
        np.sum(np.reshape(a, [500, 3, 40]).mul(np.reshape(np.arange(3), [1, 3, 1])), {
          axis: [0, 2],
        }),
      (a: Tensor) => np.sum(np.transpose(np.reshape(a, [1500, 40])), { axis: 1 }),
    ];
    for (const f of fs) {
      const want = await on("cpu", () => f(x()).dataSync());
      const got = await on("webgpu", () => (jit(f)(x()) as Tensor).data());
      const rep = allCloseReport(got, want, { rtol: 1e-4, atol: 1e-4 });
      if (rep) assert.fail(rep);
    }
  });
  test(
    "dotGeneral with batch axes and a fused epilogue matches the cpu backend",
    { skip },
    async () => {
      const f = (a: Tensor, b: Tensor) => np.tanh(np.matmul(a, b).add(1));
      const want = await on("cpu", () => f(rnd([3, 70, 20], 3), rnd([3, 20, 300], 4)).dataSync());
      const got = await on(
        "webgpu",
        () => (jit(f)(rnd([3, 70, 20], 3), rnd([3, 20, 300], 4)) as Tensor).data(),
      );
      const rep = allCloseReport(got, want, { rtol: 1e-4, atol: 1e-5 });
      if (rep) assert.fail(rep);
    },
  );
});

describe("webgpu: training", () => {
  test("grad of a small conv step matches the cpu backend (eager and jit)", { skip }, async () => {
    const g = grad(loss);
    const want = await on("cpu", () => {
      const { params, x } = netInputs(3);
      const r = g(params, x) as Record<string, Tensor>;
      return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.dataSync()]));
    });
    for (const fn of [g, jit(g)]) {
      await on("webgpu", async () => {
        const { params, x } = netInputs(3);
        const r = fn(params, x) as Record<string, Tensor>;
        for (const k of Object.keys(want)) {
          const rep = allCloseReport(await r[k].data(), want[k], { rtol: 1e-4, atol: 1e-6 });
          if (rep) assert.fail(`d${k}: ${rep}`);
        }
      });
    }
  });

  test(
    "live GPU buffers return to their starting count after a training loop",
    { skip },
    async () => {
      const gc = await gcFunction();
      await on("webgpu", async () => {
        const step = jit((p: { w1: Tensor; b1: Tensor; w2: Tensor }, x: Tensor) => {
          const gr = grad(loss)(p, x) as typeof p;
          return {
            w1: p.w1.sub(gr.w1.mul(0.1)),
            b1: p.b1.sub(gr.b1.mul(0.1)),
            w2: p.w2.sub(gr.w2.mul(0.1)),
          };
        });
        {
          const { params, x } = netInputs(5);
          step(params, x); // traces: the program's constants stay alive with the jit cache
        }
        await collect(gc);
        const start = liveBuffers();
        {
          let { params, x } = netInputs(5);
          for (let i = 0; i < 5; i++) params = step(params, x) as typeof params;
          const l0 = loss(params, x);
          assert.ok(Number.isFinite((await l0.data())[0]));
          for (const t of [...Object.values(params), x, l0]) t.dispose();
          params = undefined as unknown as typeof params;
          x = undefined as unknown as Tensor;
        }
        await collect(gc);
        assert.equal(liveBuffers(), start, "live buffers after the loop");
      });
    },
  );
});

async function gcFunction(): Promise<(() => void) | null> {
  const g = globalThis as { gc?: () => void };
  if (g.gc) return g.gc;
  try {
    const v8 = await import("node:v8");
    v8.setFlagsFromString("--expose-gc");
    const vm = await import("node:vm");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return null;
  }
}

async function collect(gc: (() => void) | null): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("webgpu: API behaviour", () => {
  test("dataSync throws a TypeError naming await t.data()", { skip }, async () => {
    await on("webgpu", () => {
      const x = np.array([1, 2, 3]);
      assert.throws(
        () => x.dataSync(),
        (e: unknown) => e instanceof TypeError && e.message.includes("await t.data()"),
      );
    });
  });

  test("random.foldIn runs on the device with the host's bits; printing names await t.data()", {
    skip,
  }, async () => {
    const want = random.foldIn(random.key(3), 11).dataSync();
    await on("webgpu", async () => {
      const k = random.foldIn(random.key(3), 11);
      assert.deepEqual(Array.from(await k.data()), Array.from(want));
      const jk = await jit((key: Tensor) => random.foldIn(key, 11))(random.key(3)).data();
      assert.deepEqual(Array.from(jk), Array.from(want));
      assert.match(String(k), /webgpu: read the values with await t\.data\(\)/);
    });
  });

  test("float64 arrays are rejected with a TypeError", { skip }, async () => {
    await on("webgpu", () => {
      assert.throws(
        () => np.array([1, 2], { dtype: "float64" }),
        (e: unknown) => e instanceof TypeError && /float64/.test(e.message),
      );
    });
  });

  test("a small jitted conv does one GPU→JS sync per call", { skip }, async () => {
    await on("webgpu", async () => {
      const x = np.ones([1, 2, 6, 6]), w = np.ones([3, 2, 3, 3]), b = np.ones([1, 3, 1, 1]);
      const f = jit((x: Tensor, w: Tensor, b: Tensor) =>
        np.maximum(lax.convGeneralDilated(x, w, [1, 1], "SAME").add(b), 0)
      );
      await f(x, w, b).data(); // compile
      const stats = webgpuStats()!;
      for (let i = 0; i < 3; i++) {
        const s0 = stats.syncs, sub0 = stats.submits;
        const out = await f(x, w, b).data();
        assert.equal(stats.syncs - s0, 1, "syncs per call");
        assert.ok(stats.submits - sub0 <= 2, `submits per call: ${stats.submits - sub0}`);
        assert.equal(out[7], 19); // interior: 2 channels * 9 taps + bias
      }
    });
  });

  test("reads issued together share one sync", { skip }, async () => {
    await on("webgpu", async () => {
      const xs = [1, 2, 3, 4].map((v) => np.full([5], v));
      const stats = webgpuStats()!;
      const s0 = stats.syncs;
      const vals = await Promise.all(xs.map((x) => x.mul(2).data()));
      assert.equal(stats.syncs - s0, 1);
      assert.deepEqual(vals.map((v) => v[0]), [2, 4, 6, 8]);
    });
  });
});

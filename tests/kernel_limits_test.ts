/**
 * Issue 17, item 3: programs that need more buffers than a WebGPU shader may bind run (the
 * lowering materializes fused values and splits long concatenates to `maxKernelInputs`), at the
 * device's limit on WebGPU (skipped where the runtime has none) and with small limits on the CPU
 * (every runtime); dispatch sizes past 65535 workgroups per dimension.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, makeJaxpr, nn, np, setBackend, type Tensor } from "../mod.ts";
import { lowerJaxpr } from "../lib/compile/lower.ts";
import { hoistConsts, type Jaxpr } from "../lib/ir.ts";
import { compilePlan, runPlan } from "../lib/compile/runner.ts";
import { compileGpuPlan, lowerOptions } from "../lib/backend/webgpu/plan.ts";
import { webgpuRuntime } from "../lib/backend/webgpu/backend.ts";
import type { TypedArray } from "../lib/dtype.ts";
import { allCloseReport } from "./_test_utils.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";
const MAX = READY ? webgpuRuntime()!.limits.maxStorageBuffersPerShaderStage : 8;

// deno-lint-ignore no-explicit-any
type Fn = (...a: any[]) => Tensor;
const f32 = (v: number[]) => np.array(v, { dtype: "float32" });
const consts = (n: number, len = 8) =>
  Array.from({ length: n }, (_, i) => f32(Array.from({ length: len }, (_, j) => i + j / 8)));

/** The programs of the issue, sized to the device's storage-buffer limit. */
const CASES: [string, Fn, () => Tensor[]][] = [
  [
    "sum of limit+1 arrays (xs.reduce(add))",
    (...a) => a.reduce((p, q) => p.add(q)),
    () => consts(MAX + 1),
  ],
  ["sum of exactly limit-2 arrays", (...a) => a.reduce((p, q) => p.add(q)), () => consts(MAX - 2)],
  ["sum of limit-1 arrays", (...a) => a.reduce((p, q) => p.add(q)), () => consts(MAX - 1)],
  ["chain of limit-1 multiplies by different constants", (x) => {
    let y = x;
    for (let i = 0; i < MAX - 1; i++) {
      y = y.mul(f32(Array.from({ length: 8 }, (_, j) => 1 + (i + j) / 64)));
    }
    return y;
  }, () => consts(1)],
  [
    "reduction over limit+1 fused arrays",
    (...a) => np.sum(a.reduce((p, q) => p.mul(q.add(1))), { axis: 0 }),
    () => consts(MAX + 1, 4),
  ],
  ["concatenate of 3*limit arrays", (...a) => np.concatenate(a), () => consts(3 * MAX, 3)],
  [
    "concatenate of 3*limit fused arrays",
    (...a) => np.concatenate(a.map((t: Tensor) => t.mul(2))),
    () => consts(3 * MAX, 3),
  ],
  [
    "grad of a sum of five activations",
    grad((x: Tensor) =>
      np.sum(nn.relu(x).add(nn.sigmoid(x)).add(nn.gelu(x)).add(nn.silu(x)).add(nn.softplus(x)))
    ),
    () => [f32([-2, -1, -0.5, 0, 0.5, 1, 2, 3])],
  ],
  [
    "grad^7 of sum(sin(x) cos(x))",
    (() => {
      let g: Fn = (x) => np.sum(np.sin(x).mul(np.cos(x)));
      for (let i = 0; i < 7; i++) {
        const h = g;
        g = (x) => np.sum(grad(h)(x));
      }
      return g;
    })(),
    () => [f32([0.1, 0.2, 0.3, 0.4])],
  ],
];

const hoisted = (j: Jaxpr): Jaxpr => (j.constVars.length ? hoistConsts(j) : j);

async function onBackend(name: string, f: Fn, args: Tensor[]): Promise<number[]> {
  setBackend(name);
  try {
    const moved = args.map((a) => np.array(a.dataSync(), { dtype: "float32", shape: a.shape }));
    return Array.from(await jit(f)(...moved).data());
  } finally {
    setBackend("cpu");
  }
}

test("every kernel of a lowered program reads at most maxKernelInputs buffers (cpu runner)", () => {
  for (const limit of [2, 3, 5]) {
    for (const [what, f, args] of CASES.slice(0, 7)) {
      const xs = args();
      const j0 = makeJaxpr(f)(...xs);
      const j = hoistConsts(j0);
      const plan = lowerJaxpr(j, { maxKernelInputs: limit });
      for (const s of plan.steps) {
        const n = s.kind === "kernel" ? s.inputs.length : 0;
        assert.ok(n <= limit, `${what}: a kernel reads ${n} buffers, limit ${limit}`);
      }
      const noOps = () => {
        throw new Error("no op steps expected");
      };
      const data = [...j0.consts, ...xs].map((x) => x.dataSync() as TypedArray);
      const got = runPlan(compilePlan(plan), data, noOps)[0];
      const want = runPlan(compilePlan(lowerJaxpr(j)), data, noOps)[0];
      // materialized intermediates round to float32 where the fused kernel kept float64
      const bad = allCloseReport(got, want, { rtol: 1e-6, atol: 1e-7 });
      assert.equal(bad, null, `${what}, limit ${limit}: ${bad}`);
    }
  }
});

test("webgpu: programs needing more storage buffers than the device allows run and match the cpu", {
  skip,
}, async () => {
  for (const [what, f, args] of CASES) {
    const xs = args();
    const want = await onBackend("cpu", f, xs);
    const got = await onBackend("webgpu", f, xs);
    const bad = allCloseReport(got, want, { rtol: 2e-5, atol: 1e-5 });
    assert.equal(bad, null, `${what}: ${bad}`);
  }
});

test("webgpu: compiled plans bind at most maxStorageBuffersPerShaderStage buffers per dispatch", {
  skip,
}, () => {
  const rt = webgpuRuntime()!;
  const opts = { convVariant: "register" as const };
  for (const [what, f, args] of CASES) {
    const gp = compileGpuPlan(
      rt,
      lowerJaxpr(hoisted(makeJaxpr(f)(...args())), lowerOptions(rt, opts)),
      opts,
    );
    for (const s of gp.steps) {
      for (const d of s.kind === "gpu" ? s.dispatches : []) {
        assert.ok(d.bind.length <= MAX, `${what}: a dispatch binds ${d.bind.length} > ${MAX}`);
      }
    }
  }
});

test(
  "webgpu: more than 65535 workgroups of elements or rows (2-d dispatch)",
  { skip },
  async () => {
    setBackend("webgpu");
    try {
      const n = (1 << 23) + 3;
      const y = await np.ones([n]).mul(2).add(1).data();
      assert.equal(y.length, n);
      assert.ok(y[0] === 3 && y[n - 1] === 3 && y[n >> 1] === 3);
      const s = await np.sum(np.ones([70000, 3]), { axis: 1 }).data();
      assert.ok(s.length === 70000 && s[0] === 3 && s[69999] === 3);
    } finally {
      setBackend("cpu");
    }
  },
);

/**
 * Backends own execution: the layering (no backend imports the transforms or the public API),
 * the rule that picks one backend for mixed arguments (eager ops and jitted programs alike), and
 * `lower().asText()` following the arguments' backend.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, jit, lax, np, setBackend, type Tensor } from "../mod.ts";
import type { ArrayValue } from "../lib/core.ts";
import { type Backend, pickBackend } from "../lib/backend/backend.ts";
import { cpuBackend } from "../lib/backend/cpu/backend.ts";
import { importsOf, repoRoot, sourceFiles } from "./_imports.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const noGpu = READY ? false : "WebGPU is not available in this runtime";

function on<R>(name: string, fn: () => R): R {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

const arrayOn = (name: string, values: number[]): Tensor =>
  on(name, () => np.array(values, { dtype: "float32" }));
const backendOf = (t: Tensor): string => (t as ArrayValue).backend.name;
const addMul = (a: Tensor, b: Tensor) => a.add(b).mul(b);

test("no file in lib/backend imports lib/transforms or lib/api (type imports included)", () => {
  const root = repoRoot();
  const bad = sourceFiles(root, ["lib/backend"]).flatMap((f) => importsOf(root, f))
    .filter((e) => /^lib\/(transforms|api)\//.test(e.to))
    .map((e) => `${e.from} -> ${e.to}`);
  assert.deepEqual(bad, []);
  assert.ok(
    importsOf(root, "lib/backend/cpu/backend.ts").some((e) => e.to === "lib/core.ts"),
    "scanner",
  );
});

describe("pickBackend: one backend for arguments on several", () => {
  const fake = (name: string, deviceMemory = false) => ({ ...cpuBackend, name, deviceMemory });
  const a = fake("a"), b = fake("b"), dev1 = fake("dev1", true), dev2 = fake("dev2", true);

  test("no arrays: the default backend", () => {
    assert.equal(pickBackend([]), cpuBackend);
  });
  test("the default backend when it holds an argument, else the first argument's", () => {
    assert.equal(pickBackend([a, cpuBackend, b]), cpuBackend);
    assert.equal(pickBackend([b, a]), b);
  });
  test("a device-memory backend holding an argument wins over host backends", () => {
    assert.equal(pickBackend([cpuBackend, dev1] as Backend[]), dev1);
    assert.equal(pickBackend([a, dev2, dev1, cpuBackend] as Backend[]), dev2);
  });
});

describe("mixed host backends (reference and cpu arrays)", () => {
  const x = arrayOn("reference", [1, 2, 3]);
  const y = arrayOn("cpu", [4, 5, 6]);

  test("eager and jit run on the default backend when it holds an argument", () => {
    for (const f of [addMul, jit(addMul)]) {
      for (const dflt of ["cpu", "reference"]) {
        for (const [p, q, want] of [[x, y, [20, 35, 54]], [y, x, [5, 14, 27]]] as const) {
          const r = on(dflt, () => f(p, q) as Tensor);
          assert.equal(backendOf(r), dflt);
          assert.deepEqual([...r.dataSync()], want);
        }
      }
    }
  });

  test("the arguments are not changed or disposed by the move", () => {
    on("cpu", () => addMul(x, y));
    assert.equal(backendOf(x), "reference");
    assert.deepEqual([...x.dataSync()], [1, 2, 3]);
  });

  test("lower().asText() lists kernels for cpu arguments, the jaxpr for reference ones", () => {
    const f = jit(addMul);
    assert.match(on("reference", () => f.lower(y, y).asText()), /^program: 1 kernel/);
    const text = on("cpu", () => f.lower(x, x).asText());
    assert.doesNotMatch(text, /^program:/);
    assert.match(text, /mul/);
  });
});

describe("mixed cpu and webgpu arrays", () => {
  test("eager and jit move the cpu argument to webgpu, whichever backend is the default", {
    skip: noGpu,
  }, async () => {
    const x = arrayOn("cpu", [1, 2, 3]);
    const y = arrayOn("webgpu", [4, 5, 6]);
    for (const dflt of ["cpu", "webgpu"]) {
      for (const f of [addMul, jit(addMul)]) {
        for (const [p, q, want] of [[x, y, [20, 35, 54]], [y, x, [5, 14, 27]]] as const) {
          const r = on(dflt, () => f(p, q) as Tensor);
          assert.equal(backendOf(r), "webgpu", `default ${dflt}`);
          assert.deepEqual([...await r.data()], want);
        }
      }
    }
    assert.equal(backendOf(x), "cpu");
    assert.deepEqual([...x.dataSync()], [1, 2, 3]);
  });

  test("host arguments with webgpu as the default stay on the first argument's backend", {
    skip: noGpu,
  }, () => {
    const x = arrayOn("reference", [1, 2, 3]);
    const y = arrayOn("cpu", [4, 5, 6]);
    for (const f of [addMul, jit(addMul)]) {
      assert.equal(backendOf(on("webgpu", () => f(y, x) as Tensor)), "cpu");
      assert.equal(backendOf(on("webgpu", () => f(x, y) as Tensor)), "reference");
    }
  });

  test("a jitted program with control flow (scan) runs on webgpu", { skip: noGpu }, async () => {
    const f = jit((c: Tensor, xs: Tensor) =>
      lax.scan((c: Tensor, x: Tensor) => [c.add(x), c.mul(x)], c, xs)
    );
    const c0 = arrayOn("webgpu", [0, 1]);
    const xs = on("webgpu", () => np.ones([3, 2], { dtype: "float32" }));
    const [c, ys] = f(c0, xs) as Tensor[];
    assert.equal(backendOf(c), "webgpu");
    assert.deepEqual([...await c.data()], [3, 4]);
    assert.deepEqual([...await ys.data()], [0, 1, 1, 2, 2, 3]);
  });
});

/**
 * Complex dtypes: np functions vs NumPy fixtures (tests/fixtures/complex_cases.json, made by
 * gen_complex_fixtures.py) on every backend (reference, cpu, webgpu for complex64 where
 * `navigator.gpu` exists), eager and under jit; promotion; storage, printing and conversion;
 * gradients vs float64 finite differences in JAX's convention (grad of a real loss L at
 * z = x + iy is ∂L/∂x − i ∂L/∂y); jvp; vmap vs a loop; errors of ops without complex support.
 * @module
 */
import "./_backend.ts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, init, jit, jvp, lax, np, type Tensor, vmap } from "../mod.ts";
import { promoteTypes } from "../lib/dtype.ts";
import type { DType } from "../lib/dtype.ts";
import { backendNames } from "../lib/backend/backend.ts";
import { allCloseReport } from "./_test_utils.ts";
import fixtures from "./fixtures/complex_cases.json" with { type: "json" };
import { onBackend as on } from "./_prop_util.ts";

interface Spec {
  dtype: string;
  shape: number[];
  data: (number | boolean)[];
}
interface Case {
  name: string;
  fn: string;
  args: (Spec | { value: unknown })[];
  kwargs?: Record<string, unknown>;
  expected: Spec;
  rtol?: number;
}
const CASES = fixtures.cases as unknown as Case[];

function fromSpec(s: Spec): Tensor {
  const d = s.dtype as DType;
  if (d === "complex64" || d === "complex128") {
    const data = d === "complex64" ? Float32Array.from(s.data as number[]) : Float64Array.from(
      s.data as number[],
    );
    return np.array(data, { dtype: d, shape: s.shape });
  }
  return np.array(s.data, { dtype: d, shape: s.shape });
}
const decode = (a: Spec | { value: unknown }) => ("value" in a ? a.value : fromSpec(a));

function call(c: Case, args: unknown[]): Tensor {
  const f = (np as unknown as Record<string, (...a: unknown[]) => Tensor>)[c.fn];
  assert.equal(typeof f, "function", `np.${c.fn}`);
  return f(...args, ...(c.kwargs ? [c.kwargs] : []));
}

function tolOf(c: Case): { rtol: number; atol: number } {
  const single = c.expected.dtype === "complex64" || c.expected.dtype === "float32";
  const base = single ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 1e-11, atol: 1e-12 };
  return { rtol: Math.max(base.rtol, c.rtol ?? 0), atol: base.atol };
}

async function checkCase(c: Case, t: Tensor, what: string): Promise<void> {
  assert.equal(t.dtype, c.expected.dtype, `${what}: dtype`);
  assert.deepEqual(t.shape, c.expected.shape, `${what}: shape`);
  const got = Array.from(await t.data(), Number);
  const want = c.expected.data.map(Number);
  const report = allCloseReport(
    got,
    want,
    c.expected.dtype === "bool" ? { rtol: 0, atol: 0 } : tolOf(c),
  );
  if (report !== null) assert.fail(`${what}: ${report}`);
}

await init();
const BACKENDS = backendNames().filter((b) =>
  b !== "webgpu" || !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu
);

describe("complex: np functions vs NumPy fixtures", () => {
  for (const c of CASES) {
    for (const b of BACKENDS) {
      const c128 = JSON.stringify(c).includes("complex128") ||
        JSON.stringify(c).includes("float64");
      if (b === "webgpu" && c128) continue;
      test(`${c.name} on ${b} (eager and jit)`, async () => {
        const [eager, jitted] = on(b, () => {
          const args = c.args.map(decode);
          const tensorIdx = args.flatMap((
            a,
            i,
          ) => (typeof a === "object" && a !== null ? [i] : []));
          const jf = jit((...ts: Tensor[]) => {
            const full = [...args];
            tensorIdx.forEach((i, k) => (full[i] = ts[k]));
            return call(c, full);
          });
          return [call(c, args), jf(...tensorIdx.map((i) => args[i] as Tensor))];
        });
        await checkCase(c, eager, "eager");
        await checkCase(c, jitted, "jit");
      });
    }
  }
});

test("complex: promotion follows JAX's lattice", () => {
  for (const p of fixtures.promotions) {
    const r = promoteTypes({ dtype: p.a as DType, weak: false }, {
      dtype: p.b as DType,
      weak: false,
    });
    assert.equal(r.dtype, p.result, `${p.a} + ${p.b}`);
  }
  const z = np.zeros([2], { dtype: "complex64" });
  assert.equal(np.add(z, 1.5).dtype, "complex64", "weak float keeps complex64");
  assert.equal(np.add(z, np.zeros([2], { dtype: "float64" })).dtype, "complex128");
  assert.equal(np.add(z, np.zeros([2], { dtype: "int32" })).dtype, "complex64");
  assert.equal(lax.complex(np.zeros([2], { dtype: "float64" }), 0).dtype, "complex128");
});

test("complex: storage, np.array, toNested, printing", async () => {
  const z = np.array([[{ re: 1, im: -2 }, 3], [{ re: 0.5, im: 0.25 }, { re: -1, im: 0 }]]);
  assert.equal(z.dtype, "complex64");
  assert.deepEqual(z.shape, [2, 2]);
  const d = await z.data();
  assert.ok(d instanceof Float32Array);
  assert.deepEqual(Array.from(d), [1, -2, 3, 0, 0.5, 0.25, -1, 0]);
  assert.deepEqual(await z.toNested(), [[{ re: 1, im: -2 }, { re: 3, im: 0 }], [
    { re: 0.5, im: 0.25 },
    { re: -1, im: 0 },
  ]]);
  const y = np.array(new Float64Array([1, 2, 3, 4]), { dtype: "complex128" });
  assert.deepEqual(y.shape, [2]);
  assert.ok(y.dataSync() instanceof Float64Array);
  assert.equal(String(y), "array([1.+2.j, 3.+4.j], dtype=complex128)");
  assert.equal(String(np.array([{ re: -1.5, im: -0.5 }])), "array([-1.5-0.5j], dtype=complex64)");
  assert.throws(() => np.array(new Float32Array(3), { dtype: "complex64" }), /odd/);
  assert.throws(() => np.array([{ re: 1, im: 2 }], { dtype: "float32" }), /complex dtype/);
  assert.throws(() => z.item(), TypeError);
  assert.deepEqual(Array.from(z.real.dataSync()), [1, 3, 0.5, -1]);
  assert.deepEqual(Array.from(z.imag.dataSync()), [-2, 0, 0.25, 0]);
  assert.deepEqual(Array.from(z.conj().dataSync()), [1, 2, 3, -0, 0.5, -0.25, -1, -0]);
  assert.deepEqual(Array.from(np.ones([2], { dtype: "complex64" }).dataSync()), [1, 0, 1, 0]);
});

test("complex: ops without complex support are TypeErrors naming the op", () => {
  const z = np.array([{ re: 1, im: 2 }]);
  assert.throws(() => np.maximum(z, z), { name: "TypeError", message: /max: complex/ });
  assert.throws(() => np.max(z), { name: "TypeError", message: /reduceMax: complex/ });
  assert.throws(() => np.less(z, z), { name: "TypeError", message: /lt: complex/ });
  assert.throws(() => np.sort(z), { name: "TypeError", message: /sort: complex/ });
  assert.throws(() => np.floor(z), { name: "TypeError", message: /floor: complex/ });
  assert.throws(() => lax.complex(z, 1), { name: "TypeError", message: /complex: re and im/ });
  assert.throws(() => lax.real(np.array([1])), { name: "TypeError", message: /real: operand/ });
  assert.throws(() => jit((x: Tensor) => np.max(x))(z), /reduceMax: complex/);
  assert.throws(
    () => lax.scan((c: Tensor, x: Tensor) => [np.maximum(c, x), c], z.slice(0), z),
    { name: "TypeError", message: /max: complex/ },
  );
});

/** Random complex128 values on the float32 grid. */
function crand(shape: number[], seed: number): Tensor {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: 2 * n }, () => Math.fround(next()));
  return np.array(data, { dtype: "complex128", shape });
}

/** JAX's convention by central differences: ∂L/∂x − i ∂L/∂y per element, interleaved. */
function fdGrad(L: (z: Tensor) => Tensor, z: Tensor, eps = 1e-6): number[] {
  const base = z.dataSync();
  const out: number[] = [];
  for (let k = 0; k < base.length; k++) {
    const at = (h: number) => {
      const d = Float64Array.from(base);
      d[k] += h;
      return Number(L(np.array(d, { dtype: "complex128", shape: z.shape })).item());
    };
    const g = (at(eps) - at(-eps)) / (2 * eps);
    out.push(k % 2 === 0 ? g : -g);
  }
  return out;
}

const LOSSES: [string, (z: Tensor) => Tensor][] = [
  ["sum |z|^2", (z) => np.sum(np.real(np.multiply(z, np.conj(z))))],
  ["sum |exp(z) * w|", (z) => np.sum(np.abs(np.multiply(np.exp(z), crand([3], 5))))],
  ["real sum(sin(z) / (z + 2))", (z) => np.real(np.sum(np.divide(np.sin(z), np.add(z, 2))))],
  ["imag sum(log(z) * sqrt(z))", (z) => np.imag(np.sum(np.multiply(np.log(z), np.sqrt(z))))],
  ["sum angle(z) + tanh", (z) => np.add(np.sum(np.angle(z)), np.real(np.sum(np.tanh(z))))],
  ["|A z|^2 (matmul)", (z) => {
    const Az = np.matmul(crand([2, 3], 9), z);
    return np.sum(np.real(np.multiply(Az, np.conj(Az))));
  }],
  ["real mean(z^3 cos z)", (z) => np.real(np.mean(np.multiply(np.power(z, 3), np.cos(z))))],
  ["var(z) + real prod(z)", (z) => np.add(np.var(z), np.real(np.prod(z)))],
];

describe("complex: grad vs finite differences (complex128, JAX's convention)", () => {
  for (const [name, L] of LOSSES) {
    test(name, async () => {
      const z = crand([3], 3);
      const g = grad(L)(z) as Tensor;
      assert.equal(g.dtype, "complex128");
      const report = allCloseReport(await g.data(), fdGrad(L, z), { rtol: 1e-6, atol: 1e-7 });
      if (report !== null) assert.fail(report);
      const gj = jit(grad(L))(z) as Tensor;
      const rj = allCloseReport(await gj.data(), await g.data(), { rtol: 1e-12, atol: 1e-13 });
      if (rj !== null) assert.fail(`jit(grad): ${rj}`);
    });
  }
  test("grad of |z|^2 is 2 conj(z), as JAX returns", async () => {
    const z = crand([4], 11);
    const g = grad((z: Tensor) => np.sum(np.square(np.abs(z))))(z) as Tensor;
    const want = Array.from(z.dataSync(), (v, i) => (i % 2 ? -2 * v : 2 * v));
    assert.equal(allCloseReport(await g.data(), want, { rtol: 1e-12, atol: 1e-14 }), null);
  });
  test("grad through lax.complex of real inputs", async () => {
    const x = np.array([0.5, -1.25], { dtype: "float64" });
    const L = (x: Tensor) => np.sum(np.abs(np.exp(lax.complex(x, np.multiply(x, 2)))));
    const g = await (grad(L)(x) as Tensor).data();
    // |exp(x + 2ix)| = e^x, so dL/dx = e^x
    assert.equal(allCloseReport(g, [Math.exp(0.5), Math.exp(-1.25)], { rtol: 1e-12 }), null);
  });
});

test("complex: jvp of holomorphic functions is f'(z) dz", async () => {
  const z = crand([3], 21), dz = crand([3], 22);
  const [y, t] = jvp((z: Tensor) => np.multiply(np.exp(z), z), [z], [dz]) as [Tensor, Tensor];
  const want = np.multiply(np.multiply(np.exp(z), np.add(z, 1)), dz);
  assert.equal(
    allCloseReport(await t.data(), await want.data(), { rtol: 1e-12, atol: 1e-14 }),
    null,
  );
  assert.equal(y.dtype, "complex128");
});

test("complex: vmap matches a loop, and jit matches eager", async () => {
  const zs = crand([4, 3], 31);
  const w = crand([3, 2], 32);
  const f = (z: Tensor) => np.sum(np.multiply(np.exp(np.matmul(z, w)), np.conj(z.slice(":2"))));
  const batched = vmap(f)(zs) as Tensor;
  const loop = np.stack([0, 1, 2, 3].map((i) => f(zs.slice(i))));
  assert.equal(allCloseReport(await batched.data(), await loop.data(), { rtol: 1e-12 }), null);
  const vg = vmap(grad((z: Tensor) => np.abs(f(z))))(zs) as Tensor;
  const lg = np.stack(
    [0, 1, 2, 3].map((i) => grad((z: Tensor) => np.abs(f(z)))(zs.slice(i)) as Tensor),
  );
  assert.equal(
    allCloseReport(await vg.data(), await lg.data(), { rtol: 1e-10, atol: 1e-12 }),
    null,
  );
  const jf = jit(f);
  assert.equal(allCloseReport(await jf(zs.slice(0)).data(), await f(zs.slice(0)).data()), null);
  assert.equal(jf.traceCount, 1);
});

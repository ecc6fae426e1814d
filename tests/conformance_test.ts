/**
 * Conformance of every primitive in `OPS` (lib/ops/registry.ts) under every transform, driven by
 * the samples in _op_samples.ts. Per sample: eval vs an independent oracle (float64), float32 vs
 * float64, jvp vs central finite differences, the vjp inner-product identity
 * <ct, J v> = <J^T ct, v> (exercising the transpose rules), vmap vs a loop (batch axis 0, the last
 * axis, each argument unbatched), and jit vs eager with a single trace.
 *
 * Each sample is also run eagerly and under jit on every other registered backend (today: "cpu")
 * and compared with the reference backend.
 *
 * Matrix at the time of writing: 53 primitives in OPS plus 1 pending (conv), 289 samples,
 * 2267 generated tests + 1 registry-coverage test (1978 of them on the reference backend, 289 cpu
 * cross-checks). Per primitive 19 (not) to 96 (dotGeneral) tests, i.e. per sample: eval, float32,
 * jvp-vs-FD and vjp identity (or "jvp and vjp are zero"), vmap axis 0 / last axis / each argument
 * unbatched, jit, cpu backend.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { OPS } from "../lib/ops/registry.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import { getBackend, jit, jvp, setBackend, type Tensor, vjp, vmap } from "../mod.ts";
import { applyOp } from "./_op_samples_complex.ts";
import { backendNames } from "../lib/backend/backend.ts";
import {
  buildArgs,
  derivOf,
  type FloatDType,
  hostTensor,
  makeRng,
  missingSamples,
  OP_SAMPLES,
  paramsOf,
  type Sample,
} from "./_op_samples.ts";
import { type Host, ORACLES, stackHost, storeCast } from "./_op_oracles.ts";
import { allCloseReport } from "./_test_utils.ts";
import { expectKnownBug } from "./_known_bugs.ts";

const SEED = 1234;
const BATCH = 3;
const FD_EPS = 1e-6;

const isFloat = (d: string) => d === "float32" || d === "float64";
const toHost = (t: Tensor): Host => ({ shape: t.shape, dtype: t.dtype, data: t.dataSync() });
const apply = (op: OpDef, args: Tensor[], params: unknown): Tensor => applyOp(op, args, params);

/** Checks that currently fail because of a reported library bug: test name → bug id. */
const KNOWN_FAILURES: Record<string, string> = {};

const registered = new Set<string>();
/** Registers a test; known failures run as strict expected failures (see _known_bugs.ts). */
function check(name: string, fn: () => void): void {
  registered.add(name);
  const bug = KNOWN_FAILURES[name];
  if (bug) test(`${name} [known bug ${bug}]`, () => expectKnownBug(bug, fn));
  else test(name, fn);
}

/** Asserts shape, dtype (optional) and values; exact unless a tolerance is given. */
function assertClose(
  got: Tensor,
  wantShape: number[],
  want: ArrayLike<number>,
  tol: { rtol: number; atol: number },
  what: string,
): void {
  assert.deepEqual(got.shape, wantShape, `${what}: shape`);
  const report = allCloseReport(got.dataSync(), want, tol);
  if (report !== null) assert.fail(`${what}: ${report}`);
}
const EXACT = { rtol: 0, atol: 0 };
/** Same-computation comparisons: float64 to rounding noise (backends may reorder sums), else exact. */
const tolFor = (
  dtype: string,
) => (dtype === "float64"
  ? { rtol: 1e-12, atol: 1e-14 }
  : dtype === "float32"
  ? { rtol: 2e-6, atol: 1e-7 }
  : EXACT);

/** Random float64 values on the float32 grid, shaped like `t`. */
function randomLike(shape: number[], dtype: "float32" | "float64", seed: number): Tensor {
  const r = makeRng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  return hostTensor(Array.from({ length: n }, () => Math.fround(2 * r() - 1)), shape, dtype);
}

/** The sample in float64 split into differentiated (float) args and a function of them. */
function diffSetup(op: OpDef, s: Sample, seed: number) {
  const args = buildArgs(s, "float64", seed);
  const params = paramsOf(s, "float64");
  const diffIdx = s.args.map((a, i) => (a.dtype === "float" ? i : -1)).filter((i) => i >= 0);
  const f = (...xs: Tensor[]) => {
    const full = [...args];
    diffIdx.forEach((i, k) => (full[i] = xs[k]));
    return apply(op, full, params);
  };
  const primals = diffIdx.map((i) => args[i]);
  const dirs = primals.map((p, k) => randomLike(p.shape, "float64", seed + 101 + k));
  return { f, primals, dirs, out: apply(op, args, params) };
}

function dotHost(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  let s = 0, abs = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i] * b[i];
    abs += Math.abs(a[i] * b[i]);
  }
  return [s, abs];
}

function checkEval(name: string, op: OpDef, s: Sample): void {
  const args = buildArgs(s, "float64", SEED);
  const params = paramsOf(s, "float64");
  const got = apply(op, args, params);
  if (name === "random") return checkRandom(op, s, args[0], got);
  const oracle = ORACLES[name];
  assert.ok(oracle, `${name}: no oracle`);
  const want = oracle(args.map(toHost), params);
  const exp = want.data.map((v) => storeCast(v, got.dtype));
  const tol = isFloat(got.dtype) ? { rtol: 1e-12, atol: 1e-14 } : EXACT;
  assertClose(got, want.shape, exp, tol, "eval");
}

function checkRandom(op: OpDef, s: Sample, key: Tensor, got: Tensor): void {
  const p = paramsOf(s, "float64") as {
    dist: string;
    shape: number[];
    dtype: string;
    low?: number;
    high?: number;
  };
  const expectShape = p.shape;
  const [lo, hi] = [p.low ?? 0, p.high ?? 1];
  assert.deepEqual(got.shape, expectShape, "shape");
  assert.equal(got.dtype, p.dtype, "dtype");
  const d = got.dataSync();
  assert.deepEqual(apply(op, [key], p).dataSync(), d, "same key, same draws");
  for (const v of d) {
    if (p.dist === "uniform") {
      assert.ok(v >= lo && v < hi, `uniform draw ${v} outside [${lo},${hi})`);
    }
    if (p.dist === "normal") assert.ok(Number.isFinite(v) && Math.abs(v) < 10, `normal draw ${v}`);
    if (p.dist === "bits" || p.dist === "split") {
      assert.ok(Number.isInteger(v), `integer draw ${v}`);
    }
  }
  if (d.length >= 2) {
    const other = apply(op, [buildArgs(s, "float64", SEED + 1)[0]], p).dataSync();
    assert.notDeepEqual(Array.from(other), Array.from(d), "different keys give different draws");
  }
}

function checkF32(op: OpDef, s: Sample): void {
  const r64 = apply(op, buildArgs(s, "float64", SEED), paramsOf(s, "float64"));
  const r32 = apply(op, buildArgs(s, "float32", SEED), paramsOf(s, "float32"));
  const floatOut = isFloat(r64.dtype);
  if (floatOut) assert.ok(isFloat(r32.dtype), `float32 result dtype ${r32.dtype}`);
  else assert.equal(r32.dtype, r64.dtype, "non-float result dtype");
  const want = Array.from(r64.dataSync(), (v) => storeCast(v, r32.dtype));
  assertClose(
    r32,
    r64.shape,
    want,
    floatOut ? { rtol: 1e-6, atol: 1e-7 } : EXACT,
    "float32 vs float64",
  );
}

function checkJvpFd(op: OpDef, s: Sample): void {
  const { f, primals, dirs, out } = diffSetup(op, s, SEED);
  const [po, t] = jvp(f, primals, dirs);
  assertClose(po, out.shape, out.dataSync(), tolFor(out.dtype), "jvp primal");
  const eps = s.fdEps ?? FD_EPS;
  const shifted = (sign: number) =>
    primals.map((p, k) => {
      const a = p.dataSync(), v = dirs[k].dataSync();
      return hostTensor(Array.from(a, (x, i) => x + sign * eps * v[i]), p.shape, "float64");
    });
  const plus = f(...shifted(1)).dataSync(), minus = f(...shifted(-1)).dataSync();
  const fd = Array.from(plus, (x, i) => (x - minus[i]) / (2 * eps));
  assertClose(t, out.shape, fd, { rtol: 1e-6, atol: 1e-7 }, "jvp vs finite differences");
}

function checkVjpIdentity(op: OpDef, s: Sample): void {
  const { f, primals, dirs, out } = diffSetup(op, s, SEED);
  const [, jv] = jvp(f, primals, dirs);
  const [po, pullback] = vjp(f, ...primals);
  assertClose(po, out.shape, out.dataSync(), tolFor(out.dtype), "vjp primal");
  const ct = randomLike(out.shape, out.dtype as FloatDType, SEED + 7);
  const cts = pullback(ct) as Tensor[];
  assert.equal(cts.length, primals.length, "one cotangent per primal");
  cts.forEach((c, k) => {
    assert.deepEqual(c.shape, primals[k].shape, `cotangent ${k} shape`);
    assert.equal(c.dtype, primals[k].dtype, `cotangent ${k} dtype`);
  });
  const [lhs, lAbs] = dotHost(ct.dataSync(), jv.dataSync());
  let rhs = 0, rAbs = 0;
  cts.forEach((c, k) => {
    const [v, a] = dotHost(c.dataSync(), dirs[k].dataSync());
    rhs += v;
    rAbs += a;
  });
  const tol = 1e-12 + 1e-10 * (lAbs + rAbs);
  assert.ok(Math.abs(lhs - rhs) <= tol, `<ct, J v> = ${lhs} but <J^T ct, v> = ${rhs}`);
}

function checkZeroDerivative(op: OpDef, s: Sample): void {
  const { f, primals, dirs, out } = diffSetup(op, s, SEED);
  const [, t] = jvp(f, primals, dirs);
  assertClose(t, out.shape, new Array(out.size).fill(0), EXACT, "jvp tangent");
  const [, pullback] = vjp(f, ...primals);
  const ct = isFloat(out.dtype)
    ? randomLike(out.shape, out.dtype as FloatDType, SEED + 7)
    : randomLike(out.shape, "float64", 0);
  const cts = pullback(ct) as Tensor[];
  cts.forEach((c, k) =>
    assertClose(c, primals[k].shape, new Array(primals[k].size).fill(0), EXACT, `cotangent ${k}`)
  );
}

/**
 * vmap with batch axis `axis` (0 or -1) for every batchable argument except `unbatched` ones,
 * against stacking per-example results.
 */
function checkVmap(op: OpDef, s: Sample, axis: number, unbatched: number[]): void {
  const params = paramsOf(s, "float64");
  const examples = Array.from({ length: BATCH }, (_, b) => buildArgs(s, "float64", SEED + b));
  const mapped = s.args.map((_, i) => !unbatched.includes(i) && !(s.unbatchable ?? []).includes(i));
  const inputs = s.args.map((a, i) => {
    if (!mapped[i]) return examples[0][i];
    const hosts = examples.map((ex) => toHost(ex[i]));
    const st = stackHost(hosts, axis < 0 ? a.shape.length : axis);
    return hostTensor(st.data, st.shape, st.dtype);
  });
  const perExample = examples.map((ex) =>
    apply(op, ex.map((x, i) => (mapped[i] ? x : examples[0][i])), params)
  );
  const want = stackHost(perExample.map(toHost), 0);
  const inAxes = mapped.map((m) => (m ? axis : null));
  const got = vmap((...xs: Tensor[]) => apply(op, xs, params), { inAxes })(...inputs) as Tensor;
  assert.equal(got.dtype, perExample[0].dtype, "dtype");
  assertClose(got, want.shape, want.data, tolFor(got.dtype), "vmap vs loop");
}

function checkJit(op: OpDef, s: Sample): void {
  const params = paramsOf(s, "float64");
  const jf = jit((...xs: Tensor[]) => [apply(op, xs, params)]);
  for (const seed of [SEED, SEED + 1]) {
    const args = buildArgs(s, "float64", seed);
    const eager = apply(op, args, params);
    const got = (jf(...args) as Tensor[])[0];
    assert.equal(got.dtype, eager.dtype, "dtype");
    assertClose(
      got,
      eager.shape,
      eager.dataSync(),
      tolFor(got.dtype),
      `jit vs eager (call ${seed - SEED + 1})`,
    );
  }
  assert.equal(jf.traceCount, 1, "second call must not retrace");
}

/** Evaluates `fn` with `name` as the default backend (arrays built inside live there). */
function onBackend<R>(name: string, fn: () => R): R {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

/** Backends other than the reference one are checked against it: eager float64/float32 and jit. */
const OTHER_BACKENDS = backendNames().filter((b) => b !== "reference");

function checkBackend(backend: string, op: OpDef, s: Sample): void {
  const dts: FloatDType[] = s.args.some((a) => a.dtype === "float")
    ? ["float64", "float32"]
    : ["float64"];
  for (const dt of dts) {
    const params = paramsOf(s, dt);
    const run = () => {
      const eager = apply(op, buildArgs(s, dt, SEED), params);
      const jitted = (jit((...xs: Tensor[]) => [apply(op, xs, params)])(
        ...buildArgs(s, dt, SEED),
      ) as Tensor[])[0];
      return [eager, jitted].map((t) => ({ shape: t.shape, dtype: t.dtype, data: t.dataSync() }));
    };
    const want = onBackend("reference", run)[0];
    const got = onBackend(backend, run);
    const tol = tolFor(want.dtype);
    got.forEach((g, k) => {
      const what = `${backend} ${k === 0 ? "eager" : "jit"} ${dt}`;
      assert.deepEqual(g.shape, want.shape, `${what}: shape`);
      assert.equal(g.dtype, want.dtype, `${what}: dtype`);
      const report = allCloseReport(g.data, want.data, tol);
      if (report !== null) assert.fail(`${what} vs reference: ${report}`);
    });
  }
}

/**
 * Primitives defined in lib/ops but not (yet) in `OPS`: tested the same way. Once registered, the
 * entry is redundant (OPS wins) and can be dropped.
 */
const ALL_OPS: Record<string, OpDef> = { ...OPS };

for (const name of Object.keys(ALL_OPS)) {
  const op: OpDef = ALL_OPS[name];
  const spec = OP_SAMPLES[name];
  if (!spec) continue; // reported by the coverage test above
  describe(name, () => {
    for (const s of spec.samples) {
      const l = `(${s.label})`;
      const hasFloat = s.args.some((a) => a.dtype === "float");
      check(
        `${name}: ${
          name === "random" ? "draws are deterministic and in range" : "eval matches oracle"
        } ${l}`,
        () => checkEval(name, op, s),
      );
      if (hasFloat && s.f32 !== false) {
        check(`${name}: float32 matches float64 ${l}`, () => checkF32(op, s));
      }
      const deriv = derivOf(name, s);
      if (deriv === "smooth") {
        if (s.fd !== false) {
          check(`${name}: jvp matches finite differences ${l}`, () => checkJvpFd(op, s));
        }
        check(`${name}: vjp satisfies <ct, J v> = <J^T ct, v> ${l}`, () => checkVjpIdentity(op, s));
      } else if (deriv === "zero") {
        check(`${name}: jvp and vjp are zero ${l}`, () => checkZeroDerivative(op, s));
      }
      const batchable = s.args.map((_, i) => i).filter((i) => !(s.unbatchable ?? []).includes(i));
      check(`${name}: vmap over axis 0 matches a loop ${l}`, () => checkVmap(op, s, 0, []));
      if (batchable.some((i) => s.args[i].shape.length > 0)) {
        check(
          `${name}: vmap over the last axis matches a loop ${l}`,
          () => checkVmap(op, s, -1, []),
        );
      }
      if (batchable.length > 1) {
        for (const i of batchable) {
          check(
            `${name}: vmap with argument ${i} unbatched matches a loop ${l}`,
            () => checkVmap(op, s, 0, [i]),
          );
        }
      }
      check(`${name}: jit matches eager and traces once ${l}`, () => checkJit(op, s));
      for (const b of OTHER_BACKENDS) {
        check(
          `${name}: ${b} backend (eager and jit) matches the reference backend ${l}`,
          () => checkBackend(b, op, s),
        );
      }
    }
  });
}

// Registered last so that, on every runtime, all sample tests are registered when it runs.
test("every primitive in OPS has samples", () => {
  assert.deepEqual(
    missingSamples(),
    [],
    "add samples to tests/_op_samples.ts for these primitives",
  );
  const oracleless = Object.keys(ALL_OPS).filter((k) => k !== "random" && !ORACLES[k]);
  assert.deepEqual(oracleless, [], "add oracles to tests/_op_oracles.ts for these primitives");
  const stale = Object.keys(KNOWN_FAILURES).filter((n) => !registered.has(n));
  assert.deepEqual(stale, [], "KNOWN_FAILURES entries that name no test");
});

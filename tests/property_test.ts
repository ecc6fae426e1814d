/**
 * Property tests (fast-check, fixed seeds): random convolution cases on the cpu backend (eager
 * and jit) against the reference backend and an independent loop oracle, forward and vjp; random
 * bad arguments must raise a clean TypeError/RangeError naming the op and the argument; random
 * elementwise/reduction/movement chains jitted on cpu against eager reference. A failure prints
 * the shrunk counterexample (raw parameters) and a readable reproduction.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { lax, nn, np, type Tensor } from "../mod.ts";
import {
  caseData,
  type ConvCase,
  type ConvResults,
  describeCase,
  naiveConv,
  rawConvArb,
  resolveCase,
  runCase,
} from "./_prop_conv.ts";
import { type BadCase, checkBadCase, convNdBadArb, laxBadArb, maxPoolBadArb } from "./_prop_bad.ts";
import { numpyBadArb } from "./_prop_bad_np.ts";
import {
  convNdData,
  describeConvNd,
  describePool,
  naiveConvNd,
  naivePool,
  type NnResults,
  poolData,
  rawNnArb,
  resolveConvNd,
  resolvePool,
  runConvNd,
  runPool,
} from "./_prop_nn.ts";
import {
  buildProgram,
  describeProgram,
  programScale,
  rawProgramArb,
  runProgram,
} from "./_prop_chain.ts";
import { compareHost, envVar, type HostResult, onBackend, toHost } from "./_prop_util.ts";

/**
 * Run counts and seeds: fixed, so failures reproduce. For a deeper search set
 * TRACEGRAD_PROP_SCALE (a run-count multiplier) and / or TRACEGRAD_PROP_SEED.
 */
const SCALE = Math.max(0.01, Number(envVar("TRACEGRAD_PROP_SCALE") ?? 1) || 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const CONV_RUNS = runs(600);
const CONV_BIG_RUNS = runs(25);
const BAD_RUNS = runs(400);
const CHAIN_RUNS = runs(300);
const NN_RUNS = runs(200);
const SEED = Number(envVar("TRACEGRAD_PROP_SEED") ?? 20240601) || 20240601;

function convTolerance(c: ConvCase): [number, number] {
  const scale = Math.max(1, Math.sqrt(c.reduction));
  return c.dtype === "float32" ? [1e-4, 1e-4 * scale] : [1e-9, 1e-9 * scale];
}

function compareConv(c: ConvCase, label: string, got: ConvResults, want: ConvResults): void {
  const [rtol, atol] = convTolerance(c);
  const problems = (["out", "dlhs", "drhs"] as const)
    .map((k) => compareHost(`${label} ${k}`, got[k], want[k], rtol, atol))
    .filter((p) => p !== null);
  if (problems.length) assert.fail(`${describeCase(c)}\n${problems.join("\n")}`);
}

function convProperty(big: boolean, nonFinite = false) {
  return fc.property(rawConvArb(big, nonFinite), (raw) => {
    const c = resolveCase(raw);
    fc.pre(big ? c.gemm && c.cost <= 4e6 : c.cost <= 2e5);
    const want = onBackend("reference", () => runCase(c, false));
    // (the oracle is a slow closure-heavy loop; the small cases cover the reference with it)
    if (!big) {
      compareConv(
        c,
        "reference vs loop oracle:",
        want,
        naiveConv(c, ...caseData(c, want.out.shape)),
      );
    }
    compareConv(c, "cpu eager:", onBackend("cpu", () => runCase(c, false)), want);
    compareConv(c, "cpu jit:", onBackend("cpu", () => runCase(c, true)), want);
  });
}

describe("property: convGeneralDilated, cpu == reference == loop oracle", () => {
  test("small random cases (rank 0-3, groups, layouts, zero sizes), forward and vjp, eager and jit", () => {
    fc.assert(convProperty(false), { seed: SEED, numRuns: CONV_RUNS });
  });

  test("larger float32 cases (the cpu backend's im2col + Wasm GEMM path)", () => {
    fc.assert(convProperty(true), { seed: SEED + 1, numRuns: CONV_BIG_RUNS });
  });

  test("NaN and infinities in small cases (generated conv kernel) stay where their terms are", () => {
    fc.assert(convProperty(false, true), { seed: SEED + 2, numRuns: Math.ceil(CONV_RUNS / 2) });
  });
});

function compareNn(
  what: string,
  dtype: string,
  label: string,
  got: NnResults,
  want: NnResults,
  scale: number,
): void {
  const [rtol, atol] = dtype === "float32" ? [1e-4, 1e-4 * scale] : [1e-9, 1e-9 * scale];
  const problems = [
    compareHost(`${label} out`, got.out, want.out, rtol, atol),
    ...got.grads.map((g, i) => compareHost(`${label} d/d arg ${i}`, g, want.grads[i], rtol, atol)),
  ].filter((p) => p !== null);
  if (problems.length) assert.fail(`${what}\n${problems.join("\n")}`);
}

describe("property: nn layers, cpu == reference == loop oracle (forward and vjp, eager and jit)", () => {
  test("nn.convNd: strides, dilation, groups, bias, padding forms and padding modes", () => {
    fc.assert(
      fc.property(rawNnArb(), (raw) => {
        const c = resolveConvNd(raw);
        fc.pre(c !== null);
        const what = describeConvNd(c), scale = Math.sqrt(c.w.reduce((a, b) => a * b, 1) * c.x[0]);
        const want = onBackend("reference", () => runConvNd(c, false));
        compareNn(
          what,
          c.dtype,
          "reference vs loop oracle:",
          want,
          naiveConvNd(c, ...convNdData(c)),
          scale,
        );
        compareNn(
          what,
          c.dtype,
          "cpu eager:",
          onBackend("cpu", () => runConvNd(c, false)),
          want,
          scale,
        );
        compareNn(
          what,
          c.dtype,
          "cpu jit:",
          onBackend("cpu", () => runConvNd(c, true)),
          want,
          scale,
        );
      }),
      { seed: SEED + 30, numRuns: NN_RUNS },
    );
  });

  test("nn.maxPool: strides, dilation, padding, ties (gradient to the first maximum)", () => {
    fc.assert(
      fc.property(rawNnArb(), (raw) => {
        const c = resolvePool(raw);
        fc.pre(c !== null);
        const what = describePool(c);
        const want = onBackend("reference", () => runPool(c, false));
        compareNn(
          what,
          c.dtype,
          "reference vs loop oracle:",
          want,
          naivePool(c, ...poolData(c)),
          1,
        );
        compareNn(what, c.dtype, "cpu eager:", onBackend("cpu", () => runPool(c, false)), want, 1);
        compareNn(what, c.dtype, "cpu jit:", onBackend("cpu", () => runPool(c, true)), want, 1);
      }),
      { seed: SEED + 31, numRuns: NN_RUNS },
    );
  });
});

function badProperty(arb: fc.Arbitrary<BadCase>) {
  return fc.property(arb, (c) => {
    const problem = checkBadCase(c);
    if (problem !== null) assert.fail(problem);
  });
}

describe("property: bad arguments raise a clean TypeError or RangeError naming the op and the argument", () => {
  test("lax.convGeneralDilated", () => {
    fc.assert(badProperty(laxBadArb()), { seed: SEED + 10, numRuns: BAD_RUNS * 2 });
  });
  test("nn.convNd", () => {
    fc.assert(badProperty(convNdBadArb()), { seed: SEED + 11, numRuns: BAD_RUNS });
  });
  test("nn.maxPool", () => {
    fc.assert(badProperty(maxPoolBadArb()), { seed: SEED + 12, numRuns: BAD_RUNS });
  });
  test("np.reshape, np.sum axis, slicing", () => {
    fc.assert(badProperty(numpyBadArb()), { seed: SEED + 13, numRuns: BAD_RUNS });
  });
});

function hostAll(ts: Tensor[]): HostResult[] {
  return ts.map(toHost);
}

test("property: random op chains, jit on cpu == eager on reference (values and input gradients)", () => {
  fc.assert(
    fc.property(rawProgramArb(), (raw) => {
      const p = buildProgram(raw);
      const scale = programScale(p);
      const [rtol, atol] = p.dtype === "float32" ? [1e-4, 1e-5 * scale] : [1e-9, 1e-12 * scale];
      const run = (backend: string, useJit: boolean) =>
        onBackend(backend, () => {
          const { outs, grads } = runProgram(p, useJit);
          return { outs: hostAll(outs), grads: hostAll(grads) };
        });
      const want = run("reference", false);
      const problems: string[] = [];
      want.outs.forEach((o, k) => {
        const expected = p.values[p.outputs[k]].shape;
        if (o.shape.join() !== expected.join()) {
          problems.push(
            `reference output ${k}: shape [${o.shape}], NumPy rules give [${expected}]`,
          );
        }
      });
      for (const [label, useJit] of [["cpu jit", true], ["cpu eager", false]] as const) {
        const got = run("cpu", useJit);
        got.outs.forEach((o, k) =>
          problems.push(compareHost(`${label} output ${k}`, o, want.outs[k], rtol, atol) ?? "")
        );
        got.grads.forEach((g, k) =>
          problems.push(compareHost(`${label} d/d input ${k}`, g, want.grads[k], rtol, atol) ?? "")
        );
      }
      const bad = problems.filter((s) => s !== "");
      if (bad.length) assert.fail(`${describeProgram(p)}\n${bad.join("\n")}`);
    }),
    { seed: SEED + 20, numRuns: CHAIN_RUNS },
  );
});

// ---------------------------------------------------------------------------------------------
// Known library bugs found by these properties: strict expected failures. Each test passes while
// the bug is present and fails once it is fixed; then delete it (and, for bad-argument bugs, set
// DRAW_KNOWN_BUGS in _prop_bad.ts to true so the properties draw those values again).

/** A bug that was found by these properties and fixed: its check must keep reporting "fixed". */
function fixedBug(id: string, what: string, stillBroken: () => string | null): void {
  test(`fixed bug ${id} stays fixed: ${what}`, () => {
    assert.ok(stillBroken() !== null, `bug "${id}" is back`);
  });
}

function knownBug(id: string, what: string, stillBroken: () => string | null): void {
  test(`known bug ${id}: ${what}`, () => {
    const why = stillBroken();
    assert.ok(why === null, `known bug "${id}" seems fixed (${why}): remove this test`);
  });
}

/** For fixedBug: non-null ("fixed") only when every case now raises cleanly. */
function allClean(cases: BadCase[]): () => string | null {
  return () => {
    const broken = cases.filter((c) => checkBadCase(c) !== null).map((c) =>
      `${c.what}: ${checkBadCase(c)}`
    );
    return broken.length ? null : "all clean";
  };
}

function badCases(cases: BadCase[]): () => string | null {
  return () => {
    const fixed = cases.filter((c) => checkBadCase(c) === null).map((c) => c.what);
    return fixed.length ? `now clean: ${fixed.join("; ")}` : null;
  };
}

fixedBug(
  "conv-gemm-nonfinite",
  "float32 cpu convs on the GEMM path turn padding / dilation holes times a NaN kernel tap into NaN",
  () => {
    // 64 x 8 x 40 input, 32 x 8 x 3 kernel (im2col + GEMM path), NaN in tap 0 of filter 0 / channel 0,
    // pads [2, 2]: output 0 reads tap 0 only at a padding position, so it has no NaN term
    const w = new Float32Array(32 * 8 * 3).fill(1);
    w[0] = NaN;
    const f = () =>
      lax.convGeneralDilated(
        np.ones([64, 8, 40]),
        np.array(w, { dtype: "float32", shape: [32, 8, 3] }),
        [1],
        [[2, 2]],
      )
        .dataSync()[0];
    const [ref, cpu] = [onBackend("reference", f), onBackend("cpu", f)];
    return Number.isNaN(cpu) && ref === 8 ? null : `cpu ${cpu}, reference ${ref}`;
  },
);

const hole = <T>(n: number): T[] => new Array<T>(n);
const x3 = () => np.ones([2, 3, 5]), w3 = () => np.ones([4, 3, 2]);

fixedBug(
  "sparse-array-arguments",
  "holes in argument lists skip validation (Array.every skips holes): NaN shapes or foreign errors",
  allClean([
    {
      op: "convGeneralDilated",
      names: ["windowStrides"],
      what: "lax windowStrides [<hole>]",
      call: () => lax.convGeneralDilated(x3(), w3(), hole(1), "VALID"),
    },
    {
      op: "convGeneralDilated",
      names: ["rhsDilation"],
      what: "lax rhsDilation [<hole>]",
      call: () => lax.convGeneralDilated(x3(), w3(), [1], "VALID", { rhsDilation: hole(1) }),
    },
    {
      op: "convGeneralDilated",
      names: ["lhsDilation"],
      what: "lax lhsDilation [<hole>]",
      call: () => lax.convGeneralDilated(x3(), w3(), [1], [[0, 0]], { lhsDilation: hole(1) }),
    },
    {
      op: "convGeneralDilated",
      names: ["padding"],
      what: "lax padding [<hole>]",
      call: () => lax.convGeneralDilated(x3(), w3(), [1], hole(1)),
    },
    {
      op: "convNd",
      names: ["stride"],
      what: "convNd stride [<hole>]",
      call: () => nn.convNd(x3(), w3(), { stride: hole(1) }),
    },
    {
      op: "convNd",
      names: ["padding"],
      what: "convNd padding [<hole>]",
      call: () => nn.convNd(x3(), w3(), { padding: hole<number>(1) }),
    },
    {
      op: "maxPool",
      names: ["stride"],
      what: "maxPool stride [<hole>]",
      call: () => nn.maxPool(x3(), { window: 2, stride: hole(1) }),
    },
    {
      op: "pad",
      names: ["padWidth"],
      what: "np.pad padWidth [[1,1],[<hole>,<hole>]]",
      call: () => np.pad(np.ones([2, 3]), [[1, 1], hole(2)] as never),
    },
  ]),
);

fixedBug(
  "convnd-paddingmode-prototype",
  "nn.convNd accepts Object.prototype keys as paddingMode (`in` instead of an own-key check)",
  allClean(["__proto__", "constructor", "toString", "hasOwnProperty"].map((m) => ({
    op: "convNd",
    names: ["paddingMode"],
    what: `convNd paddingMode ${JSON.stringify(m)}`,
    call: () =>
      nn.convNd(np.ones([1, 2, 3]), np.ones([3, 2, 1]), {
        padding: m === "hasOwnProperty" ? 0 : 1,
        paddingMode: m as never,
      }),
  }))),
);

knownBug(
  "unnamed-argument-errors",
  "some bad arguments raise errors without the op name or without naming the argument",
  badCases([
    {
      op: "convGeneralDilated",
      names: ["opts"],
      what: "lax opts null",
      call: () => lax.convGeneralDilated(x3(), w3(), [1], "VALID", null as never),
    },
  ]),
);

fixedBug(
  "unnamed-argument-errors-fixed",
  "bad preferredElementType, reshape shape and sum axis values raise errors naming op and argument",
  allClean([
    {
      op: "convGeneralDilated",
      names: ["preferredElementType"],
      what: 'lax preferredElementType "foo"',
      call: () =>
        lax.convGeneralDilated(x3(), w3(), [1], "VALID", { preferredElementType: "foo" as never }),
    },
    {
      op: "reshape",
      names: ["shape"],
      what: "np.reshape shape null",
      call: () => np.reshape(np.ones([2, 3]), null as never),
    },
    {
      op: "reshape",
      names: ["shape"],
      what: "np.reshape shape undefined",
      call: () => np.reshape(np.ones([2, 3]), undefined as never),
    },
    {
      op: "sum",
      names: ["axis"],
      what: "np.sum axis {}",
      call: () => np.sum(np.ones([2, 3]), { axis: {} as never }),
    },
  ]),
);

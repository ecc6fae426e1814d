/**
 * Convolution front-ends and nn activations against fixtures (tests/fixtures/conv_frontend_cases.json,
 * made by `python3 tests/fixtures/gen_conv_frontend_fixtures.py` from JAX / NumPy / SciPy): forward
 * values, VJPs for a subset, and checkGrads to order 2 (float64) on every case.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, np, type Tensor, vjp } from "../mod.ts";
import * as lax from "../lib/lax.ts";
import * as nn from "../lib/nn.ts";
import * as signal from "../lib/signal.ts";
import data from "./fixtures/conv_frontend_cases.json" with { type: "json" };
import {
  arrayFromSpec,
  type ArraySpec,
  assertMatchesSpec,
  decodeArg,
  type FixtureArg,
} from "./_test_utils.ts";

interface FrontendCase {
  name: string;
  fn: string;
  args: FixtureArg[];
  expected: ArraySpec;
  source: string;
  rtol: number;
  atol: number;
  biasArg?: ArraySpec;
  vjp?: { argnums: number[]; cotangent: ArraySpec; grads: ArraySpec[]; source: string };
}

const CASES = (data as unknown as { cases: FrontendCase[] }).cases;
type AnyFn = (...args: unknown[]) => Tensor;
const NAMESPACES: Record<string, Record<string, unknown>> = { lax, nn, signal };

function resolve(fn: string): AnyFn {
  const [ns, name] = fn.split(".");
  const f = NAMESPACES[ns]?.[name];
  assert.equal(typeof f, "function", `${fn} is not a function`);
  return f as AnyFn;
}

function caseArgs(c: FrontendCase): unknown[] {
  const args = c.args.map(decodeArg);
  if (c.biasArg) {
    const last = args.length - 1;
    args[last] = { ...(args[last] as object), bias: arrayFromSpec(c.biasArg) };
  }
  return args;
}

/** The case as a function of its array arguments (the others fixed). */
function asFunction(c: FrontendCase, argnums: number[]): (...xs: Tensor[]) => Tensor {
  const f = resolve(c.fn);
  const base = caseArgs(c);
  return (...xs: Tensor[]) => {
    const args = [...base];
    argnums.forEach((a, i) => (args[a] = xs[i]));
    return f(...args);
  };
}

function arrayArgnums(c: FrontendCase): number[] {
  return c.args.map((a, i) => ("array" in a ? i : -1)).filter((i) => i >= 0);
}

describe("fixtures: forward", () => {
  test("fixture file has at least 40 cases and says where each value comes from", () => {
    assert.ok(CASES.length >= 40, `only ${CASES.length} cases`);
    for (const c of CASES) {
      assert.ok(["jax", "numpy", "scipy"].includes(c.source), `${c.name}: source ${c.source}`);
      if (c.vjp) {
        assert.ok(
          ["jax", "numpy", "numpy-jacobian"].includes(c.vjp.source),
          `${c.name}: vjp source ${c.vjp.source}`,
        );
      }
    }
  });
  for (const c of CASES) {
    test(`${c.name} (${c.source})`, async () => {
      const out = resolve(c.fn)(...caseArgs(c));
      await assertMatchesSpec(out, c.expected, { rtol: c.rtol, atol: c.atol });
    });
  }
});

describe("fixtures: vjp", () => {
  for (const c of CASES.filter((k) => k.vjp)) {
    test(`${c.name} (vjp from ${c.vjp!.source})`, async () => {
      const v = c.vjp!;
      const xs = v.argnums.map((a) => decodeArg(c.args[a]) as Tensor);
      const [, pull] = vjp(asFunction(c, v.argnums), ...xs);
      const grads = pull(arrayFromSpec(v.cotangent)) as Tensor[];
      for (let i = 0; i < v.grads.length; i++) {
        await assertMatchesSpec(grads[i], v.grads[i], { rtol: c.rtol, atol: c.atol }, `grad ${i}`);
      }
    });
  }
});

describe("fixtures: checkGrads order 2 (float64)", () => {
  for (const c of CASES.filter((k) => k.expected.dtype !== "int32")) {
    test(c.name, () => {
      const argnums = arrayArgnums(c);
      const xs = argnums.map((a) => np.astype(decodeArg(c.args[a]) as Tensor, "float64"));
      checkGrads(asFunction(c, argnums), xs, { order: 2, atol: 1e-6, rtol: 1e-6 });
    });
  }
});

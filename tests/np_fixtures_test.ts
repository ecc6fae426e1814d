/**
 * Checks the eager `np` API against NumPy-generated fixtures (tests/fixtures/np_ops.json and
 * np_more.json, made by `python3 tests/fixtures/gen_np_fixtures.py` and `gen_np_more_fixtures.py`). One test per case: dtype, shape and values; and one
 * per error case: error class and message substrings.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, np, setBackend } from "../mod.ts";
import data from "./fixtures/np_ops.json" with { type: "json" };
import more from "./fixtures/np_more.json" with { type: "json" };
import {
  type ArraySpec,
  assertMatchesSpec,
  decodeArg,
  describe,
  type FixtureArg,
} from "./_test_utils.ts";

/** A value case: `fn(...args, kwargs?)` must equal `expected` (a list for split). */
interface FixtureCase {
  name: string;
  fn: string;
  args: FixtureArg[];
  kwargs?: Record<string, unknown>;
  expected: ArraySpec | ArraySpec[];
  rtol?: number;
  atol?: number;
}

/** An error case; `match` is a substring (or substrings, all required) of the message. */
interface FixtureError {
  name: string;
  fn: string;
  args: FixtureArg[];
  kwargs?: Record<string, unknown>;
  error: "TypeError" | "RangeError";
  match: string | string[];
}

type Fixtures = { cases: FixtureCase[]; errors: FixtureError[] };
const [ops, extra] = [data, more] as unknown as Fixtures[];
const FIXTURES: Fixtures = {
  cases: [...ops.cases, ...extra.cases],
  errors: [...ops.errors, ...extra.errors],
};
type AnyFn = (...args: unknown[]) => unknown;

/** Calls `np[fn]`, or `args[0][NAME]` for `fn = "method:NAME"`, with kwargs appended last. */
function invoke(fn: string, args: unknown[], kwargs?: Record<string, unknown>): unknown {
  const callArgs = kwargs === undefined ? args : [...args, kwargs];
  if (fn.startsWith("method:")) {
    const name = fn.slice("method:".length);
    const self = callArgs[0] as Record<string, unknown>;
    const method = self?.[name];
    assert.equal(typeof method, "function", `Tensor has no method ${name}`);
    return (method as AnyFn).apply(self, callArgs.slice(1));
  }
  const f = (np as unknown as Record<string, unknown>)[fn];
  assert.equal(typeof f, "function", `np.${fn} is not a function`);
  return (f as AnyFn)(...callArgs);
}

/** Runs `f` with `backend` as the default backend. */
function onBackend<T>(backend: string, f: () => T): T {
  const prev = getBackend();
  setBackend(backend);
  try {
    return f();
  } finally {
    setBackend(prev);
  }
}

// every value case on the compiled cpu backend (the default) and on the reference oracle
for (const backend of ["cpu", "reference"]) {
  for (const c of FIXTURES.cases) {
    test(`np${backend === "cpu" ? "" : ` [${backend}]`}: ${c.name}`, () => checkCase(c, backend));
  }
}

async function checkCase(c: FixtureCase, backend: string): Promise<void> {
  const result = onBackend(backend, () => invoke(c.fn, c.args.map(decodeArg), c.kwargs));
  const tol = { rtol: c.rtol, atol: c.atol };
  if (Array.isArray(c.expected)) {
    assert.ok(Array.isArray(result), `expected an array of Tensors, got ${describe(result)}`);
    assert.equal(result.length, c.expected.length, "number of outputs");
    for (let i = 0; i < c.expected.length; i++) {
      await assertMatchesSpec(result[i], c.expected[i], tol, `output ${i}`);
    }
  } else {
    await assertMatchesSpec(result, c.expected, tol);
  }
}

for (const e of FIXTURES.errors) {
  test(`np error: ${e.name}`, () => {
    const args = e.args.map(decodeArg);
    const ctor = e.error === "TypeError" ? TypeError : RangeError;
    const needles = Array.isArray(e.match) ? e.match : [e.match];
    assert.throws(
      () => invoke(e.fn, args, e.kwargs),
      (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (!(err instanceof ctor) || !needles.every((s) => msg.includes(s))) {
          assert.fail(
            `expected ${e.error} with message containing ${JSON.stringify(needles)}, ` +
              `got ${describe(err)}`,
          );
        }
        return true;
      },
    );
  });
}

/**
 * Shared helpers for tests: decoding JSON fixture arrays (NaN/Infinity as strings), building
 * `np` arguments from fixture ARGs, and value comparison (`assertAllClose`, `assertMatchesSpec`).
 * Used by np_fixtures_test.ts; import from any `*_test.ts`.
 * @module
 */
import assert from "node:assert/strict";
import { np, Tensor } from "../mod.ts";
import type { DType } from "../lib/dtype.ts";
import { typedCtor } from "../lib/dtype.ts";
import { f16round } from "../lib/float16.ts";

/** dtype names used in fixtures (same as the library's). */
export type FixtureDType = DType;

/** A flat, row-major array as stored in JSON fixtures; non-finite values are "nan" | "inf" | "-inf". */
export interface ArraySpec {
  dtype: FixtureDType;
  shape: number[];
  data: (number | boolean | string)[];
}

/**
 * One fixture argument: `{array}` becomes `np.array(data, {dtype, shape})`, `{arrays}` a Tensor[],
 * `{number}` a plain JS number (weakly typed), `{value}` any JSON value passed unchanged.
 */
export type FixtureArg =
  | { array: ArraySpec }
  | { arrays: ArraySpec[] }
  | { number: number | string }
  | { value: unknown };

/** Typed arrays a Tensor's `data()` may return. */
export type AnyTypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Uint32Array;

/** Comparison tolerances: |actual - expected| <= atol + rtol * |expected|. */
export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/**
 * Decodes one JSON scalar: "nan"/"inf"/"-inf" → NaN/±Infinity, booleans → 1/0, numbers unchanged.
 * @example
 * ```ts
 * decodeScalar("-inf"); // -Infinity
 * ```
 */
export function decodeScalar(v: number | boolean | string): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  throw new TypeError(`decodeScalar: unexpected value ${JSON.stringify(v)}`);
}

/**
 * Decodes a spec's data into plain numbers (bools as 1/0); float32 values are rounded with
 * `Math.fround` so they equal what a Float32Array holds.
 */
export function decodeData(spec: ArraySpec): number[] {
  const out = spec.data.map(decodeScalar);
  if (spec.dtype === "float16") return out.map(f16round);
  return spec.dtype === "float32" ? out.map(Math.fround) : out;
}

/** Builds a Tensor from a spec via `np.array(values, {dtype, shape})` (bools passed as booleans). */
export function arrayFromSpec(spec: ArraySpec): Tensor {
  const values: (number | boolean)[] = spec.dtype === "bool"
    ? spec.data.map((v) => Boolean(decodeScalar(v)))
    : spec.data.map(decodeScalar);
  return np.array(values, { dtype: spec.dtype, shape: spec.shape });
}

/** Turns a fixture ARG into the JS value passed to the function under test. */
export function decodeArg(arg: FixtureArg): unknown {
  if ("array" in arg) return arrayFromSpec(arg.array);
  if ("arrays" in arg) return arg.arrays.map(arrayFromSpec);
  if ("number" in arg) return decodeScalar(arg.number);
  if ("value" in arg) return arg.value;
  throw new TypeError(`decodeArg: unknown fixture argument ${JSON.stringify(arg)}`);
}

/** Default tolerances: float32 rtol 2e-6 + atol 1e-6, float64 rtol 1e-12 + atol 1e-12, else exact. */
export function defaultTolerance(dtype: FixtureDType): Required<Tolerance> {
  if (dtype === "float32") return { rtol: 2e-6, atol: 1e-6 };
  if (dtype === "float64") return { rtol: 1e-12, atol: 1e-12 };
  if (dtype === "float16") return { rtol: 1e-3, atol: 1e-3 };
  return { rtol: 0, atol: 0 };
}

/**
 * Compares two equally long numeric sequences. NaN must sit at the same positions, infinities must
 * match exactly, others satisfy |a - e| <= atol + rtol * |e|. Returns null when close, else a
 * description of the mismatches (count, first few indices, max abs error).
 */
export function allCloseReport(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 2e-6, atol = 1e-6 }: Tolerance = {},
): string | null {
  if (actual.length !== expected.length) {
    return `length mismatch: actual ${actual.length}, expected ${expected.length}`;
  }
  const bad: string[] = [];
  let count = 0;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    let ok: boolean;
    if (Number.isNaN(e) || Number.isNaN(a)) ok = Number.isNaN(e) && Number.isNaN(a);
    else if (!Number.isFinite(e) || !Number.isFinite(a)) ok = a === e;
    else {
      const err = Math.abs(a - e);
      maxErr = Math.max(maxErr, err);
      ok = err <= atol + rtol * Math.abs(e);
    }
    if (!ok) {
      count++;
      if (bad.length < 6) bad.push(`[${i}] actual ${a} expected ${e}`);
    }
  }
  if (count === 0) return null;
  return `${count}/${expected.length} values differ (rtol ${rtol}, atol ${atol}, max abs err ${maxErr}): ` +
    bad.join("; ");
}

/**
 * Asserts that `actual` (a Tensor, read with `await data()`, or a typed/plain array) is elementwise
 * close to `expected` (see `allCloseReport`). Shapes are not checked; use `assertMatchesSpec` for that.
 * @example
 * ```ts
 * await assertAllClose(np.add([1, 2], 0.5), [1.5, 2.5]);
 * await assertAllClose(new Float32Array([0.1]), [0.1], { rtol: 1e-6 });
 * ```
 */
export async function assertAllClose(
  actual: Tensor | ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance & { message?: string } = {},
): Promise<void> {
  const values: ArrayLike<number> = actual instanceof Tensor ? await actual.data() : actual;
  const report = allCloseReport(values, expected, tol);
  if (report !== null) assert.fail(tol.message ? `${tol.message}: ${report}` : report);
}

/**
 * Asserts that `actual` is a Tensor whose dtype, shape, `data()` array type and values match the
 * fixture spec. Floats use `tol` (default `defaultTolerance(dtype)`); bools and ints are exact.
 * `label` prefixes failure messages.
 */
export async function assertMatchesSpec(
  actual: unknown,
  expected: ArraySpec,
  tol: Tolerance = {},
  label = "result",
): Promise<void> {
  assert.ok(actual instanceof Tensor, `${label}: expected a Tensor, got ${describe(actual)}`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual(Array.from(actual.shape), expected.shape, `${label}: shape`);
  const data = await actual.data() as AnyTypedArray;
  assert.equal(
    data?.constructor?.name,
    typedCtor(expected.dtype).name,
    `${label}: data() array type`,
  );
  const exp = decodeData(expected);
  const t = { ...defaultTolerance(expected.dtype), ...dropUndefined(tol) };
  if (!expected.dtype.startsWith("float")) {
    t.rtol = 0;
    t.atol = 0;
  }
  const report = allCloseReport(data, exp, t);
  if (report !== null) assert.fail(`${label}: ${report}`);
}

function dropUndefined(tol: Tolerance): Tolerance {
  const out: Tolerance = {};
  if (tol.rtol !== undefined) out.rtol = tol.rtol;
  if (tol.atol !== undefined) out.atol = tol.atol;
  return out;
}

/** Short human-readable description of any value, for assertion messages. */
export function describe(v: unknown): string {
  if (v instanceof Tensor) return `Tensor(dtype=${v.dtype}, shape=[${v.shape}])`;
  if (Array.isArray(v)) return `[${v.map(describe).join(", ")}]`;
  if (v instanceof Error) return `${v.constructor.name}: ${v.message}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

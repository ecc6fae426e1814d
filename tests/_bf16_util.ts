/**
 * What the bfloat16 tests share: every primitive's float samples built in bfloat16 (run eager or
 * under jit) and the comparison of a result against the reference backend's.
 * @module
 */
import assert from "node:assert/strict";
import { jit, type Tensor } from "../mod.ts";
import { bind } from "../lib/core.ts";
import { bf16round } from "../lib/bfloat16.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import { OPS } from "../lib/ops/registry.ts";
import { OP_SAMPLES, paramsOf, sampleArgsAs } from "./_op_samples.ts";

/** One sample of one primitive: `run` gives its outputs, or null where bfloat16 is refused. */
export interface Bf16Case {
  name: string;
  run: (jitted: boolean) => Tensor[] | null;
}

/** Every primitive's real float samples whose params do not name a float dtype, in bfloat16. */
export function bf16SampleCases(): Bf16Case[] {
  const cases: Bf16Case[] = [];
  for (const [name, op] of Object.entries(OPS) as [string, OpDef][]) {
    if (OP_SAMPLES[name].complex) continue;
    for (const s of OP_SAMPLES[name].samples) {
      if (!s.args.some((a) => a.dtype === "float")) continue;
      const params = paramsOf(s, "float32");
      if (/float(32|64)/.test(JSON.stringify(params ?? {}))) continue;
      const f = (...xs: Tensor[]) => bind(op, xs, params) as Tensor[];
      cases.push({
        name: `${name} (${s.label})`,
        run: (jitted) => {
          try {
            return (jitted ? jit(f) : f)(...sampleArgsAs(s, "bfloat16", 11));
          } catch (e) {
            // ops without a bfloat16 form (linalg, fft) refuse it, naming it
            if (e instanceof TypeError && /bfloat16/.test(e.message)) return null;
            throw e;
          }
        },
      });
    }
  }
  return cases;
}

/** A result's values as numbers (bfloat16 read as float32), synchronously or not. */
export function valuesOf(t: Tensor): number[] {
  return Array.from(t.dtype === "bfloat16" ? t.astype("float32").dataSync() : t.dataSync());
}
/** `valuesOf` on any backend. */
export async function valuesOfAsync(t: Tensor): Promise<number[]> {
  return Array.from(await (t.dtype === "bfloat16" ? t.astype("float32") : t).data());
}

/**
 * Asserts that `got` (a result's values) has `ref`'s dtype and is within `ulps` bfloat16 ulps of
 * `ref`'s values (plus `atol`), every bfloat16 value being one; NaN where `ref` has NaN.
 */
export function closeBf16Values(
  got: { dtype: string; values: number[] },
  ref: { dtype: string; values: number[] },
  what: string,
  ulps = 1,
  atol = 1e-3,
): void {
  assert.equal(got.dtype, ref.dtype, `${what}: dtype`);
  assert.equal(got.values.length, ref.values.length, `${what}: size`);
  got.values.forEach((g, i) => {
    const w = ref.values[i];
    if (got.dtype === "bfloat16" && !Object.is(g, bf16round(g))) {
      assert.fail(`${what}: element ${i} = ${g} is not a bfloat16 value`);
    }
    if (Object.is(g, w) || g === w || (Number.isNaN(g) && Number.isNaN(w))) return;
    const tol = got.dtype === "bfloat16" ? ulps * 2 ** -7 * Math.abs(w) + atol : 0;
    assert.ok(Math.abs(g - w) <= tol, `${what}: element ${i} is ${g}, the reference ${w}`);
  });
}

/** `closeBf16Values` of two concrete Tensors readable synchronously. */
export function closeBf16(got: Tensor, ref: Tensor, what: string): void {
  closeBf16Values(
    { dtype: got.dtype, values: valuesOf(got) },
    { dtype: ref.dtype, values: valuesOf(ref) },
    what,
  );
}

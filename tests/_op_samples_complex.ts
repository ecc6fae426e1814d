/**
 * Conformance samples and oracles of the complex primitives (`complex`, `real`, `imag`). Complex
 * arguments and results are given as storage views, float arrays [...s, 2] of (re, im) pairs
 * (`OpSamples.complex`; see `apply` in conformance_test.ts).
 * @module
 */
import type { ArgSpec, OpSamples } from "./_op_samples.ts";
import type { Oracle } from "./_op_oracles.ts";
import { bind } from "../lib/core.ts";
import { isComplex } from "../lib/dtype.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import { COMPLEX_OPS } from "../lib/ops/complex.ts";
import { lax, np, type Tensor } from "../mod.ts";

const fr = Math.fround;
const F = (shape: number[]): ArgSpec => ({ shape, dtype: "float", gen: (r) => fr(-2 + 4 * r()) });
const SHAPES: [string, number[]][] = [["0-d", []], ["shape [3]", [3]], ["shape [2,3]", [2, 3]], [
  "size 0",
  [0, 2],
]];

/** Samples of the complex primitives. */
export const COMPLEX_SAMPLES: Record<"complex" | "real" | "imag", OpSamples> = {
  complex: {
    differentiable: true,
    complex: [],
    samples: SHAPES.map(([label, s]) => ({ label, args: [F(s), F(s)], params: {} })),
  },
  real: {
    differentiable: true,
    complex: [0],
    samples: SHAPES.map(([label, s]) => ({ label, args: [F([...s, 2])], params: {} })),
  },
  imag: {
    differentiable: true,
    complex: [0],
    samples: SHAPES.map(([label, s]) => ({ label, args: [F([...s, 2])], params: {} })),
  },
};

const part = (k: number): Oracle => ([z]) => ({
  shape: z.shape.slice(0, -1),
  data: Array.from({ length: z.data.length / 2 }, (_, i) => z.data[2 * i + k]),
});

/** Oracles on storage views: complex interleaves its parts; real / imag pick one. */
export const COMPLEX_ORACLES: Record<string, Oracle> = {
  complex: ([re, im]) => ({
    shape: [...re.shape, 2],
    data: Array.from(re.data).flatMap((v, i) => [v, im.data[i]]),
  }),
  real: part(0),
  imag: part(1),
};

/** The complex-argument indices of each op with complex operands or results. */
const COMPLEX_ARGS = new Map<OpDef, number[]>(
  Object.entries(COMPLEX_SAMPLES).map(([k, s]) => [
    COMPLEX_OPS[k as keyof typeof COMPLEX_OPS],
    s.complex ?? [],
  ]),
);

/**
 * Applies a primitive to sample arguments. Ops with complex operands or results are applied
 * through storage views: complex arguments arrive as float arrays [...s, 2] of (re, im) pairs
 * and a complex result leaves as one, so every conformance check runs on real arrays (and the
 * derivative checks exercise the transposes of complex / real / imag as well).
 */
export function applyOp(op: OpDef, args: Tensor[], params: unknown): Tensor {
  const cx = COMPLEX_ARGS.get(op);
  if (!cx) return bind(op, args, params)[0];
  const ins = args.map((x, i) =>
    cx.includes(i) ? lax.complex(np.slice(x, "...", 0), np.slice(x, "...", 1)) : x
  );
  const out = bind(op, ins, params)[0];
  return isComplex(out.dtype) ? np.stack([np.real(out), np.imag(out)], -1) : out;
}

/**
 * Conformance samples and oracles of the complex primitives (`complex`, `real`, `imag`). Complex
 * arguments and results are given as storage views, float arrays [...s, 2] of (re, im) pairs
 * (`OpSamples.complex`; see `apply` in conformance_test.ts).
 * @module
 */
import type { ArgSpec, OpSamples } from "./_op_samples.ts";
import type { Oracle } from "./_op_oracles.ts";

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

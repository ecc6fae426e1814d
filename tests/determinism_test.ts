/**
 * Determinism on the cpu backend: the same training step (conv + bias + relu + sum, gradients with
 * respect to kernel, bias and input) run repeatedly with the same inputs gives bit-identical
 * results, eagerly and under jit (one jitted function reused, and freshly jitted copies), with
 * unrelated work (other shapes, the other path of the conv kernel) interleaved between runs.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, nn, np, type Tensor, valueAndGrad } from "../mod.ts";
import { startPool } from "../lib/backend/cpu/conv.ts";
import { getDefaultPool } from "../lib/backend/cpu/pool/pool.ts";
import {
  type FloatDType,
  hostData,
  onBackend,
  rawBytes,
  sameBytes,
  tensorOf,
} from "./_prop_util.ts";

const REPEATS = 12;

interface Problem {
  name: string;
  dtype: FloatDType;
  x: number[];
  w: number[];
  opts: {
    strides: number[];
    padding: "SAME" | "VALID" | [number, number][];
    rhsDilation?: number[];
  };
}

const PROBLEMS: Problem[] = [
  // float32, im2col + Wasm GEMM (>= 2^18 multiply-adds), each GEMM big enough (>= 2 * 2^22
  // flops) to be split across the worker pool's threads once the pool is up
  {
    name: "float32 GEMM path",
    dtype: "float32",
    x: [8, 8, 32, 32],
    w: [32, 8, 3, 3],
    opts: { strides: [1, 1], padding: "SAME" },
  },
  // float32, small: the generated reduction kernel
  {
    name: "float32 small (generated kernel)",
    dtype: "float32",
    x: [2, 3, 7, 6],
    w: [4, 3, 3, 2],
    opts: { strides: [2, 1], padding: [[1, 0], [0, 2]], rhsDilation: [1, 2] },
  },
  // float64: the reference implementation behind the cpu backend
  {
    name: "float64",
    dtype: "float64",
    x: [4, 2, 9, 9],
    w: [5, 2, 3, 3],
    opts: { strides: [1, 2], padding: "VALID" },
  },
];

function inputs(p: Problem): [Tensor, Tensor, Tensor] {
  const F = p.w[0];
  return [
    tensorOf(hostData(p.w, 11, p.dtype), p.w, p.dtype),
    tensorOf(hostData([F], 12, p.dtype), [F], p.dtype),
    tensorOf(hostData(p.x, 13, p.dtype), p.x, p.dtype),
  ];
}

function lossOf(p: Problem) {
  const F = p.w[0];
  return (w: Tensor, b: Tensor, x: Tensor) => {
    const y = lax.convGeneralDilated(x, w, p.opts.strides, p.opts.padding, {
      rhsDilation: p.opts.rhsDilation,
    });
    return np.sum(nn.relu(np.add(y, np.reshape(b, [1, F, 1, 1]))));
  };
}

/** value, dw, db, dx of one step, as raw bytes. */
type StepFn = (w: Tensor, b: Tensor, x: Tensor) => [Tensor, Tensor[]];

function stepBytes(step: StepFn, args: [Tensor, Tensor, Tensor]): Uint8Array[] {
  const [v, g] = step(...args);
  return [v, ...g].map(rawBytes);
}

/** Unrelated work between runs: other conv shapes (both paths), elementwise kernels, allocations. */
function noise(i: number): void {
  const a = tensorOf(hostData([4, 8, 12, 12], 100 + i, "float32"), [4, 8, 12, 12], "float32");
  const k = tensorOf(hostData([12, 8, 3, 3], 200 + i, "float32"), [12, 8, 3, 3], "float32");
  lax.convGeneralDilated(a, k, [1, 1], "SAME").dataSync();
  lax.convGeneralDilated(np.slice(a, "0:1"), np.slice(k, "0:2"), [2, 2], "VALID").dataSync();
  np.sum(np.tanh(np.multiply(a, 1.5 + i)), { axis: [1, 3] }).dataSync();
}

function assertAllSame(label: string, runs: Uint8Array[][]): void {
  const names = ["loss", "d kernel", "d bias", "d input"];
  runs.forEach((r, i) => {
    r.forEach((bytes, j) => {
      assert.ok(
        sameBytes(bytes, runs[0][j]),
        `${label}: run ${i} ${names[j]} differs from run 0 (${bytes.length} bytes)`,
      );
    });
  });
}

/**
 * The GEMM-path step recorded synchronously at module load, before the worker pool (started in the
 * background by the first big conv) can be up: the single-threaded GEMM, unless another test file
 * in the same process already started the pool.
 */
const EARLY = onBackend("cpu", () => {
  const p = PROBLEMS[0], vg = valueAndGrad(lossOf(p), { argnums: [0, 1, 2] }) as StepFn;
  return {
    eager: stepBytes(vg, inputs(p)),
    jit: stepBytes(jit(vg) as unknown as StepFn, inputs(p)),
  };
});

describe("determinism: the same training step gives bit-identical results on cpu", () => {
  for (const p of PROBLEMS) {
    test(`${p.name}: eager, jit (reused), jit (fresh copies)`, () => {
      onBackend("cpu", () => {
        const args = inputs(p);
        const vg = valueAndGrad(lossOf(p), { argnums: [0, 1, 2] }) as StepFn;
        const jitted = jit(vg) as unknown as StepFn;
        const eager: Uint8Array[][] = [], reused: Uint8Array[][] = [], fresh: Uint8Array[][] = [];
        for (let i = 0; i < REPEATS; i++) {
          eager.push(stepBytes(vg, args));
          noise(i);
          reused.push(stepBytes(jitted, args));
          noise(i + 1);
          if (i % 3 === 0) {
            fresh.push(
              stepBytes(
                jit(valueAndGrad(lossOf(p), { argnums: [0, 1, 2] })) as unknown as StepFn,
                args,
              ),
            );
          }
        }
        assertAllSame(`${p.name} eager`, eager);
        assertAllSame(`${p.name} jit`, reused);
        assertAllSame(`${p.name} fresh jit`, [reused[0], ...fresh]);
        // the inputs were not modified by any run
        const again = inputs(p);
        args.forEach((t, i) =>
          assert.ok(sameBytes(rawBytes(t), rawBytes(again[i])), `input ${i} was modified`)
        );
      });
    });
  }

  test("float32 GEMM path: the same bytes before and after the worker pool is up", async () => {
    await startPool();
    const pool = await getDefaultPool();
    onBackend("cpu", () => {
      const p = PROBLEMS[0], vg = valueAndGrad(lossOf(p), { argnums: [0, 1, 2] }) as StepFn;
      const label = `with the pool (${pool.workers} workers, shared memory ${pool.shared})`;
      for (let i = 0; i < 3; i++) {
        assertAllSame(`eager ${label} vs module load`, [EARLY.eager, stepBytes(vg, inputs(p))]);
        assertAllSame(`jit ${label} vs module load`, [
          EARLY.jit,
          stepBytes(jit(vg) as unknown as StepFn, inputs(p)),
        ]);
      }
    });
  });

  test("the loss and gradients are non-trivial (the checks above compare real data)", () => {
    onBackend("cpu", () => {
      const p = PROBLEMS[0];
      const [v, g] = (valueAndGrad(lossOf(p), { argnums: [0, 1, 2] }) as StepFn)(...inputs(p));
      assert.ok(Number(v.item()) > 0);
      for (const t of g) assert.ok(t.dataSync().some((e) => e !== 0), "a gradient is all zeros");
    });
  });
});

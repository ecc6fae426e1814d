/**
 * tracegrad's cases of issue 14's workloads (W8 long convolution, W9 scan RNN, FFT 2^20, SOLVE
 * 512²), eager and under `jit`; the functions they time are exported for the stand-alone
 * scripts (bench/w8_fft.ts, bench/w9_rnn.ts, bench/linalg_solve.ts).
 * @module
 */
import type { Case, Factory } from "./_harness.ts";
import { concat32, FFT_N, W9 } from "./_workloads.ts";
import { jit, lax, np, readAll, signal, type Tensor, tensor, valueAndGrad } from "./_ours.ts";

/** W8: `signal.convolve` in mode "same" with SciPy's method choice ("auto"). */
export function w8Conv(x: Tensor, w: Tensor): Tensor {
  return signal.convolve(x, w, { mode: "same", method: "auto" });
}

/** W9's parameters. */
export type W9Params = { W: Tensor; U: Tensor; b: Tensor };

/** One W9 step: h' = tanh(h W + x U + b), emitted as the scan's output too. */
export const w9Step = (p: W9Params) => (h: Tensor, x: Tensor): [Tensor, Tensor] => {
  const h2 = np.tanh(np.matmul(h, p.W).add(np.matmul(x, p.U)).add(p.b));
  return [h2, h2];
};

/** W9's loss: the mean of every hidden state of a `lax.scan` over xs [T, B, I]. */
export function w9Loss(p: W9Params, xs: Tensor, unroll = 1): Tensor {
  const h0 = np.zeros([xs.shape[1], W9.H]);
  return np.mean(lax.scan(w9Step(p), h0, xs, { unroll })[1]);
}

/** The complex64 array of interleaved (re, im) float32 pairs [n, 2]. */
export function complex64(data: Float32Array, n: number): Tensor {
  return np.array(data, { dtype: "complex64", shape: [n] });
}

/** A case running `f` on prepared inputs; check = the concatenated results. */
function simple(prep: () => Tensor[], f: (...a: Tensor[]) => Tensor | Tensor[]): Case {
  const args = prep();
  return {
    async run(want) {
      const r = f(...args), outs = Array.isArray(r) ? r : [r];
      const got = await readAll(outs);
      const check = want ? concat32(got) : undefined;
      for (const t of outs) t.dispose?.();
      return check;
    },
  };
}

/** tracegrad's factories of issue 14's cases for one mode. */
export function ours14Factories(mode: "eager" | "jit"): Record<string, Factory> {
  // deno-lint-ignore no-explicit-any
  const wrap = <F extends (...a: any[]) => any>(
    f: F,
  ): F => (mode === "jit" ? jit(f) as unknown as F : f);
  return {
    W8: (inp) => simple(() => [tensor(inp.x), tensor(inp.w)], wrap(w8Conv)),
    W9: (inp) => {
      const vg = wrap(valueAndGrad(w9Loss));
      const p = { W: tensor(inp.W), U: tensor(inp.U), b: tensor(inp.b) };
      return simple(() => [tensor(inp.xs)], (xs) => {
        const [v, g] = vg(p, xs) as [Tensor, W9Params];
        return [v, g.W, g.U, g.b];
      });
    },
    FFT: (inp) => {
      const c: Case = simple(
        () => [complex64(inp.z.data, FFT_N)],
        wrap((z: Tensor) => np.fft.fft(z)),
      );
      c.note = "np.fft.fft of a complex64 array (Wasm SIMD on the CPU backend)";
      return c;
    },
    SOLVE: (inp) =>
      simple(
        () => [tensor(inp.a), tensor(inp.b)],
        wrap((a: Tensor, b: Tensor) => np.linalg.solve(a, b)),
      ),
  };
}

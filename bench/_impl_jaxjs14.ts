// deno-lint-ignore-file no-explicit-any -- jax-js is loaded dynamically (optional peer)
/**
 * jax-js's cases of issue 14's workloads: W8 (`np.convolve`, direct), W9 (the RNN as an unrolled
 * JS loop: jax-js has no `scan`), FFT (`np.fft.fft` on a real/imaginary pair) and SOLVE
 * (`np.linalg.solve`). Inputs are passed as `.ref` (jax-js ops consume their arguments).
 * @module
 */
import type { Case, Factory } from "./_harness.ts";
import { concat32, W9 } from "./_workloads.ts";

/** W9's loss for jax-js: mean of the hidden states of an unrolled loop over xs (one [B, I] per step). */
export function w9LossJaxjs(jax: any) {
  const jnp = jax.numpy;
  return (W: any, U: any, b: any, xs: any[]) => {
    let h = jnp.zeros([W9.B, W9.H]);
    let acc = jnp.zeros([]);
    for (const x of xs) {
      h = jnp.tanh(jnp.matmul(h, W.ref).add(jnp.matmul(x, U.ref)).add(b.ref));
      acc = acc.add(jnp.sum(h.ref));
    }
    h.dispose(), W.dispose(), U.dispose(), b.dispose();
    return acc.mul(1 / (xs.length * W9.B * W9.H));
  };
}

/** Splits interleaved (re, im) pairs into two arrays. */
function split(z: Float32Array): [Float32Array, Float32Array] {
  const re = new Float32Array(z.length / 2), im = new Float32Array(z.length / 2);
  for (let i = 0; i < re.length; i++) re[i] = z[2 * i], im[i] = z[2 * i + 1];
  return [re, im];
}

/** A case calling `f(...inputs.ref)` and reading every output back; check = them concatenated. */
function simple(
  args: any[],
  f: (...a: any[]) => any,
  outs: (r: any) => any[],
  toCheck: (d: Float32Array[]) => Float32Array = concat32,
): Case {
  return {
    async run(want) {
      const r = f(...args.map((a) => Array.isArray(a) ? a.map((t) => t.ref) : a.ref));
      const d = await Promise.all(outs(r).map((t: any) => t.data()));
      return want ? toCheck(d as Float32Array[]) : undefined;
    },
    dispose() {
      for (const a of args.flat()) a.dispose();
      (f as any).dispose?.();
    },
  };
}

/** Why issue 14's cases do not run on jax-js's webgpu device. */
export const JAXJS14_WEBGPU_REASON = "issue 14's cases compare CPU peers (wasm device only)";

/** jax-js's factories of issue 14's cases on one device, eager or under its jit (wasm only). */
export function jaxjs14Factories(
  jax: any,
  dev: string,
  mode: "eager" | "jit",
): Record<string, Factory> {
  if (dev !== "wasm") return {};
  const { numpy: np } = jax;
  const arr = (data: Float32Array, shape: number[]) => np.array(data, { shape, device: dev });
  const wrap = (f: any) => (mode === "jit" ? jax.jit(f) : f);
  const one = (r: any) => [r];
  const factories: Record<string, Factory> = {
    W8: (inp) =>
      simple(
        [arr(inp.x.data, inp.x.shape), arr(inp.w.data, inp.w.shape)],
        wrap((x: any, w: any) => np.convolve(x, w, "same")),
        one,
      ),
    W9: (inp) => {
      const { T, B, I, H } = W9, xs = inp.xs.data;
      const steps = Array.from(
        { length: T },
        (_, t) => arr(xs.subarray(t * B * I, (t + 1) * B * I), [B, I]),
      );
      const g = wrap(jax.valueAndGrad(w9LossJaxjs(jax), { argnums: [0, 1, 2] }));
      const c = simple(
        [arr(inp.W.data, [H, H]), arr(inp.U.data, [I, H]), arr(inp.b.data, [H]), steps],
        g,
        ([v, gs]: any) => [v, ...gs],
      );
      return { ...c, note: "unrolled JS loop (no scan)" };
    },
    FFT: (inp) => {
      const [re, im] = split(inp.z.data), n = re.length;
      const interleave = ([r, i]: Float32Array[]) => {
        const z = new Float32Array(2 * n);
        for (let k = 0; k < n; k++) z[2 * k] = r[k], z[2 * k + 1] = i[k];
        return z;
      };
      return simple(
        [arr(re, [n]), arr(im, [n])],
        wrap((r: any, i: any) => np.fft.fft({ real: r, imag: i })),
        (p: any) => [p.real, p.imag],
        interleave,
      );
    },
    SOLVE: (inp) =>
      simple(
        [arr(inp.a.data, inp.a.shape), arr(inp.b.data, inp.b.shape)],
        wrap((a: any, b: any) => np.linalg.solve(a, b)),
        one,
      ),
  };
  return factories;
}

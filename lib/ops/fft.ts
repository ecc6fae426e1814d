/**
 * The `fft` primitive (jax.lax.fft): FFT / IFFT / RFFT / IRFFT over the trailing `fftLengths`
 * axes. Complex values are a trailing axis of 2 (re, im) (complex64 / complex128 storage), so the
 * rules are real-linear maps with real-adjoint transposes. Kernels: cpu/fft.ts, wgsl/fft.ts.
 * @module
 */
import { bind1, fromHost } from "../core.ts";
import { allocTyped, type DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual } from "../shape.ts";
import { type Aval, defineOp, type OpDef } from "./_define.ts";
import { batchAt0, broadcastInDim, fullLike } from "./_util.ts";
import { mul } from "./elementwise.ts";
import { fftHost, type FftType } from "../fft/host.ts";

export type { FftType } from "../fft/host.ts";

/** Params of `fft`: the transform and the lengths of the trailing (real-domain) axes. */
export interface FftParams {
  fftType: FftType;
  fftLengths: number[];
}

const TYPES = ["FFT", "IFFT", "RFFT", "IRFFT"];

function fftAval(a: Aval, { fftType, fftLengths }: FftParams): Aval {
  const op = "fft";
  if (!TYPES.includes(fftType)) {
    throw new RangeError(
      `${op}: fftType ${JSON.stringify(fftType)} must be one of ${TYPES.join(", ")}`,
    );
  }
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(
      `${op}: operand must be float32 or float64 (complex as re/im pairs), got ${a.dtype}`,
    );
  }
  const k = fftLengths.length;
  if (k < 1 || !fftLengths.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new RangeError(
      `${op}: fftLengths ${fmtShape(fftLengths)} must be one or more positive integers`,
    );
  }
  const cplx = fftType !== "RFFT";
  const s = a.shape, core = cplx ? s.slice(0, -1) : s;
  if (cplx && s[s.length - 1] !== 2) {
    throw new TypeError(
      `${op}: a ${fftType} operand must end in an axis of 2 (re, im), got shape ${fmtShape(s)}`,
    );
  }
  if (core.length < k) {
    throw new TypeError(`${op}: operand shape ${fmtShape(s)} has fewer than ${k} transform axes`);
  }
  const tail = core.slice(core.length - k), batch = core.slice(0, core.length - k);
  const last = fftLengths[k - 1], half = (last >> 1) + 1;
  const want = fftType === "IRFFT" ? [...fftLengths.slice(0, -1), half] : fftLengths;
  if (!shapeEqual(tail, want)) {
    throw new TypeError(
      `${op}: ${fftType} with fftLengths ${fmtShape(fftLengths)} needs trailing axes ${
        fmtShape(want)
      }, got operand shape ${fmtShape(s)}`,
    );
  }
  const outTail = fftType === "IRFFT"
    ? [...fftLengths]
    : fftType === "RFFT"
    ? [...fftLengths.slice(0, -1), half, 2]
    : [...fftLengths, 2];
  return { shape: [...batch, ...outTail], dtype: a.dtype, weak: false };
}

/** Binds `fft` (lax.fft on re/im pairs). */
export function fft(x: Tensor, fftType: FftType, fftLengths: number[]): Tensor {
  return bind1(fftOp, [x], { fftType, fftLengths });
}

const scale = (x: Tensor, c: number) => mul(x, fullLike(x, c));

/**
 * Multiplies the bins axis of a half spectrum [..., n/2+1, 2] by `inner` except the DC bin and,
 * for even n, the Nyquist bin (the bins a real signal's full spectrum holds once).
 */
function scaleInnerBins(x: Tensor, n: number, inner: number): Tensor {
  const s = x.aval.shape, r = s.length, m = s[r - 2], dt: DType = x.aval.dtype;
  const w = allocTyped(dt, 2 * m);
  for (let k = 0; k < m; k++) {
    const edge = k === 0 || (n % 2 === 0 && k === n / 2);
    w[2 * k] = w[2 * k + 1] = edge ? 1 : inner;
  }
  return mul(x, broadcastInDim(fromHost(w, [m, 2], dt), s, [r - 2, r - 1]));
}

/** `fft` primitive: see the module doc for the operand layout. */
export const fftOp: OpDef<FftParams> = defineOp({
  name: "fft",
  kind: "linalg",
  abstractEval: ([a], p) => [fftAval(a, p)],
  impl: ([x], p, [out]) => {
    const cplx = p.fftType !== "RFFT";
    const shape = cplx ? x.shape.slice(0, -1) : x.shape;
    const res = allocTyped(out.dtype, out.shape.reduce((a, b) => a * b, 1));
    res.set(fftHost(x.data, shape, p.fftType, p.fftLengths, true));
    return [res];
  },
  jvp: ([x], [dx], p) => [[fft(x, p.fftType, p.fftLengths)], [fft(dx, p.fftType, p.fftLengths)]],
  vmap: ([x], [bd], p, size) => [[fft(batchAt0(x, bd, size), p.fftType, p.fftLengths)], [0]],
  transpose: ([ct], _args, { fftType, fftLengths }) => {
    const n = fftLengths.reduce((a, b) => a * b, 1), last = fftLengths[fftLengths.length - 1];
    switch (fftType) {
      case "FFT": // F^H = n · IFFT
        return [scale(fft(ct, "IFFT", fftLengths), n)];
      case "IFFT": // (F^H / n)^H = F / n
        return [scale(fft(ct, "FFT", fftLengths), 1 / n)];
      case "RFFT": // x̄ = n · IRFFT(c with inner bins halved)
        return [scale(fft(scaleInnerBins(ct, last, 0.5), "IRFFT", fftLengths), n)];
      case "IRFFT": // c̄ = RFFT(x̄) with inner bins doubled, / n
        return [scaleInnerBins(scale(fft(ct, "RFFT", fftLengths), 1 / n), last, 2)];
    }
  },
});

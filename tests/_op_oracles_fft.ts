/**
 * Oracle of the `fft` primitive: every output element as a direct sum over the transform axes
 * (angles from the index products, no factorization), complex values as trailing (re, im) pairs.
 * @module
 */
import { type Host, type Oracle, ravel, size, unravel } from "./_op_oracles.ts";

interface P {
  fftType: "FFT" | "IFFT" | "RFFT" | "IRFFT";
  fftLengths: number[];
}

/** Σ over the transform grid of value(j) · e^{sign·2πi Σ k_a j_a / n_a}, for each batch row. */
function dft(
  batch: number[],
  lengths: number[],
  outGrid: number[],
  value: (b: number, j: number[]) => [number, number],
  sign: number,
): Float64Array {
  const nb = size(batch), ng = size(outGrid), nj = size(lengths);
  const out = new Float64Array(2 * nb * ng);
  for (let b = 0; b < nb; b++) {
    for (let o = 0; o < ng; o++) {
      const k = unravel(o, outGrid);
      let re = 0, im = 0;
      for (let f = 0; f < nj; f++) {
        const j = unravel(f, lengths);
        let turns = 0;
        for (let a = 0; a < lengths.length; a++) turns += ((k[a] * j[a]) % lengths[a]) / lengths[a];
        const t = sign * 2 * Math.PI * turns, [vr, vi] = value(b, j);
        re += vr * Math.cos(t) - vi * Math.sin(t), im += vr * Math.sin(t) + vi * Math.cos(t);
      }
      out[2 * (b * ng + o)] = re, out[2 * (b * ng + o) + 1] = im;
    }
  }
  return out;
}

const fftOracle: Oracle = ([x]: Host[], p) => {
  const { fftType, fftLengths: L } = p as P;
  const k = L.length, last = L[k - 1], m = (last >> 1) + 1, N = size(L);
  const cplx = fftType !== "RFFT";
  const core = cplx ? x.shape.slice(0, -1) : x.shape;
  const batch = core.slice(0, core.length - k);
  const inGrid = fftType === "IRFFT" ? [...L.slice(0, -1), m] : L;
  const at = (b: number, j: number[], c: number) =>
    Number(x.data[(cplx ? 2 : 1) * (b * size(inGrid) + ravel(j, inGrid)) + c]);
  if (fftType === "FFT" || fftType === "IFFT") {
    const inv = fftType === "IFFT";
    const d = dft(batch, L, L, (b, j) => [at(b, j, 0), at(b, j, 1)], inv ? 1 : -1);
    return { shape: [...batch, ...L, 2], data: Array.from(d, (v) => (inv ? v / N : v)) };
  }
  if (fftType === "RFFT") {
    const grid = [...L.slice(0, -1), m];
    const d = dft(batch, L, grid, (b, j) => [at(b, j, 0), 0], -1);
    return { shape: [...batch, ...grid, 2], data: Array.from(d) };
  }
  // IRFFT: x_t = (1/N) Σ_k c(k_last) Re(X_k e^{+2πi k·t/n}), c = 1 on DC / Nyquist, else 2
  const out: number[] = [];
  for (let b = 0; b < size(batch); b++) {
    for (let t = 0; t < N; t++) {
      const ti = unravel(t, L);
      let s = 0;
      for (let f = 0; f < size(inGrid); f++) {
        const kk = unravel(f, inGrid), kl = kk[k - 1];
        const c = kl === 0 || (last % 2 === 0 && kl === last / 2) ? 1 : 2;
        let turns = 0;
        for (let a = 0; a < k; a++) turns += ((kk[a] * ti[a]) % L[a]) / L[a];
        const th = 2 * Math.PI * turns;
        s += c * (at(b, kk, 0) * Math.cos(th) - at(b, kk, 1) * Math.sin(th));
      }
      out.push(s / N);
    }
  }
  return { shape: [...batch, ...L], data: out };
};

/** Oracles by primitive name. */
export const FFT_ORACLES: Record<string, Oracle> = { fft: fftOracle };

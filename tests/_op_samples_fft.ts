/**
 * Conformance samples of the `fft` primitive (merged into OP_SAMPLES); complex operands are
 * float arrays ending in an axis of 2 (re, im).
 * @module
 */
import type { ArgSpec, OpSamples, Sample } from "./_op_samples.ts";

const fr = Math.fround;
const F = (shape: number[]): ArgSpec => ({ shape, dtype: "float", gen: (r) => fr(-2 + 4 * r()) });
const S = (label: string, args: ArgSpec[], params: unknown): Sample => ({ label, args, params });
const ft = (fftType: string, fftLengths: number[]) => ({ fftType, fftLengths });
/** Samples of `fft`: every type, even / odd / prime lengths, 2-d, length 1, size-0 batches. */
export const FFT_SAMPLES: Record<"fft", OpSamples> = {
  fft: {
    differentiable: true,
    samples: [
      S("FFT [2,6,2] (radix 2·3)", [F([2, 6, 2])], ft("FFT", [6])),
      S("IFFT [5,2]", [F([5, 2])], ft("IFFT", [5])),
      S("FFT 2-d [3,4,2]", [F([3, 4, 2])], ft("FFT", [3, 4])),
      S("FFT prime 7 [7,2]", [F([7, 2])], ft("FFT", [7])),
      S("IFFT 2-d [2,2,3,2]", [F([2, 2, 3, 2])], ft("IFFT", [2, 3])),
      S("RFFT [2,8] (even)", [F([2, 8])], ft("RFFT", [8])),
      S("RFFT [5] (odd)", [F([5])], ft("RFFT", [5])),
      S("RFFT 2-d [3,4]", [F([3, 4])], ft("RFFT", [3, 4])),
      S("IRFFT [2,5,2] → 8", [F([2, 5, 2])], ft("IRFFT", [8])),
      S("IRFFT [4,2] → 7", [F([4, 2])], ft("IRFFT", [7])),
      S("IRFFT 2-d [3,3,2] → [3,4]", [F([3, 3, 2])], ft("IRFFT", [3, 4])),
      S("FFT length 1 [1,2]", [F([1, 2])], ft("FFT", [1])),
      S("size-0 batch FFT [0,4,2]", [F([0, 4, 2])], ft("FFT", [4])),
      S("size-0 batch RFFT [0,6]", [F([0, 6])], ft("RFFT", [6])),
    ],
  },
};

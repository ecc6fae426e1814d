import { init, lax, np, setBackend } from "./mod.ts";
import { fft } from "./lib/ops/fft.ts";
await init();
function rnd(n: number, seed: number) { const a = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; a[i] = s / 2147483648 * 4 - 2; } return a; }
async function cmp(type: string, shape: number[], lengths: number[]) {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = rnd(size, 7);
  const run = () => fft(np.array(data, { shape, dtype: "float32" }), type as "FFT", lengths);
  setBackend("cpu"); const want = await run().data() as Float32Array;
  setBackend("webgpu"); let got: Float32Array;
  try { got = await run().data() as Float32Array; } catch (e) { console.log(type, shape, lengths, "ERR", String(e).slice(0, 400)); return; }
  let err = 0, mx = 0;
  for (let i = 0; i < want.length; i++) { err = Math.max(err, Math.abs(got[i] - want[i])); mx = Math.max(mx, Math.abs(want[i])); }
  console.log(type, JSON.stringify(shape), JSON.stringify(lengths), "len", got.length, want.length, "relerr", (err / mx).toExponential(2));
}
for (const n of [1, 2, 3, 4, 5, 7, 8, 12, 16, 97, 1000, 4096, 10007]) {
  await cmp("FFT", [3, n, 2], [n]);
  await cmp("IFFT", [2, n, 2], [n]);
  await cmp("RFFT", [2, n], [n]);
  await cmp("IRFFT", [2, (n >> 1) + 1, 2], [n]);
}
await cmp("FFT", [2, 3, 4, 2], [3, 4]);
await cmp("FFT", [2, 6, 97, 2], [6, 97]);
await cmp("IFFT", [2, 2, 3, 2], [2, 3]);
await cmp("RFFT", [3, 4], [3, 4]);
await cmp("RFFT", [5, 6, 7], [5, 6, 7]);
await cmp("IRFFT", [3, 3, 2], [3, 4]);
await cmp("IRFFT", [5, 6, 4, 2], [5, 6, 7]);
await cmp("RFFT", [1, 8], [1, 8]);
await cmp("FFT", [1 << 16, 2], [1 << 16]);
await cmp("FFT", [0, 4, 2], [4]);

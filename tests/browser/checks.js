// Browser checks (driven by scripts/browser_test.mjs): a convolution, a jitted gradient through
// it, a large matmul and FFTs (mixed radix, generic odd, Bluestein, real) on the backend named by
// ?backend=, against the float64 reference backend.
// The result goes to globalThis.__result (or globalThis.__error).
// the npm bundle, which the server provides (a URL, so that Deno does not resolve it on disk)
const { backendInfo, grad, init, jit, lax, nn, np, setBackend } = await import(
  new URL("/tracegrad.js", import.meta.url).href
);

const backend = new URL(location.href).searchParams.get("backend") ?? "cpu";

/** Deterministic float32 data in [-1, 1). */
function data(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

// WebGPU on a software adapter (SwiftShader) is slow to run large kernels: smaller shapes there
const small = backend === "webgpu";
const [N, C, S, F, M] = small ? [2, 8, 12, 16, 64] : [4, 16, 24, 32, 256];
const inputs = {
  x: [data(N * C * S * S, 1), [N, C, S, S]],
  w: [data(F * C * 3 * 3, 2), [F, C, 3, 3]],
  a: [data(M * M, 3), [M, M]],
  b: [data(M * M, 4), [M, M]],
  s: [data(4 * 1000, 5), [4, 1000]],
  p: [data(12 * 97, 6), [12, 97]],
  q: [data(12 * 97, 7), [12, 97]],
};

const loss = (x, w) => np.sum(np.square(nn.relu(lax.convGeneralDilated(x, w, [1, 1], "SAME"))));

/** Runs the workload on the current backend and reads every result back. */
async function run() {
  const t = {};
  for (const [k, [d, shape]] of Object.entries(inputs)) t[k] = np.array(d).reshape(shape);
  const conv = lax.convGeneralDilated(t.x, t.w, [2, 2], "SAME", { rhsDilation: [1, 1] });
  const [dx, dw] = jit(grad(loss, { argnums: [0, 1] }))(t.x, t.w);
  const mm = np.matmul(t.a, t.b);
  // radix 4·2·5·5·5 and the real split (rfft 1000); 4·3 and Bluestein (fft2 12×97); radix 7 (irfft)
  const rfft = np.fft.rfft(t.s);
  const fft2 = np.fft.fft2(lax.complex(t.p, t.q));
  const irfft = np.fft.irfft(np.fft.fft(lax.complex(t.p, t.q), { n: 4 }), { n: 7 });
  const out = {};
  for (const [k, v] of Object.entries({ conv, dx, dw, mm, rfft, fft2, irfft })) {
    out[k] = await v.data();
  }
  return out;
}

try {
  await init();
  setBackend("reference");
  const want = await run();
  setBackend(backend);
  const t0 = performance.now();
  const got = await run();
  const ms = performance.now() - t0;
  const t1 = performance.now();
  await run(); // again: compiled kernels are cached
  const msAgain = performance.now() - t1;
  const relErr = {};
  for (const k of Object.keys(want)) {
    let num = 0, den = 0;
    for (let i = 0; i < want[k].length; i++) {
      num = Math.max(num, Math.abs(got[k][i] - want[k][i]));
      den = Math.max(den, Math.abs(want[k][i]));
    }
    relErr[k] = num / den;
  }
  globalThis.__result = {
    backend,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    info: backendInfo(),
    relErr,
    ms,
    msAgain,
  };
} catch (e) {
  globalThis.__error = String(e?.stack ?? e);
}
document.getElementById("out").textContent = JSON.stringify(
  globalThis.__result ?? globalThis.__error,
  null,
  2,
);

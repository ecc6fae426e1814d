// Raw WebGPU RSS probe (no tracegrad): the calls tracegrad's eager loop makes per iteration
// (bind groups per dispatch, compute passes, submits, a readback through a mapped staging buffer,
// queue.writeBuffer), each switchable, to tell our growth from the runtime's (Deno / wgpu / driver).
//   deno run -A --v8-flags=--expose-gc bench/webgpu_rss_raw.ts [--iters N] [--every N]
//     [--dispatches N (per iteration)] [--submits N] [--no-map] [--write] [--new-buffers]
//     [--churn N --life L]
// deno-lint-ignore-file no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno.args;
const opt = (n: string, d: number) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ITERS = opt("iters", 5000), EVERY = opt("every", 500), DISP = opt("dispatches", 12);
const SUBMITS = opt("submits", 3), WARMUP = opt("warmup", 500);
const MAP = !args.includes("--no-map"), WRITE = args.includes("--write");
const NEWBUF = args.includes("--new-buffers");
// --churn N: N buffers per iteration of random power-of-two sizes (512 B - 64 KiB), each destroyed
// a random 0..--life iterations later (tracegrad's pool under GC-driven release does this)
const CHURN = opt("churn", 0), LIFE = opt("life", 0);
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const dying: { at: number; b: any }[] = [];
const adapter = await g.navigator.gpu.requestAdapter();
const device = await adapter.requestDevice();
const N = 4096;
const code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3<u32>) {
  if (i.x < arrayLength(&b)) { b[i.x] = a[i.x] * 0.5 + 1.0; }
}`;
const pipe = device.createComputePipeline({
  layout: "auto",
  compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
});
const U = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const mk = () => device.createBuffer({ size: N * 4, usage: U });
const bufs = [mk(), mk()];
const staging = device.createBuffer({ size: 256, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
const host = new Float32Array(N);
const MB = 2 ** 20;
let base = 0;
for (let it = 1; it <= ITERS; it++) {
  const tmp: any[] = [];
  for (let s = 0; s < SUBMITS; s++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let d = 0; d < DISP / SUBMITS; d++) {
      let [x, y] = d % 2 ? [bufs[0], bufs[1]] : [bufs[1], bufs[0]];
      if (NEWBUF) {
        y = mk();
        tmp.push(y);
      }
      const bg = device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }],
      });
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(N / 64);
    }
    pass.end();
    if (s === SUBMITS - 1 && MAP) enc.copyBufferToBuffer(bufs[0], 0, staging, 0, 256);
    device.queue.submit([enc.finish()]);
  }
  if (WRITE) device.queue.writeBuffer(bufs[1], 0, host);
  if (MAP) {
    await staging.mapAsync(1);
    new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
  }
  for (const b of tmp) b.destroy();
  for (let c = 0; c < CHURN; c++) {
    const size = 512 * 2 ** Math.floor(rand() * 8);
    dying.push({
      at: it + Math.floor(rand() * (LIFE + 1)),
      b: device.createBuffer({ size, usage: U }),
    });
  }
  for (let j = dying.length - 1; j >= 0; j--) {
    if (dying[j].at <= it) {
      dying[j].b.destroy();
      dying.splice(j, 1);
    }
  }
  if (it % EVERY === 0 || it === WARMUP) {
    g.gc?.();
    await new Promise((r) => setTimeout(r, 0));
    await device.queue.onSubmittedWorkDone();
    const m = g.Deno.memoryUsage();
    if (it === WARMUP) base = m.rss;
    const gr = base ? ` (${((m.rss / base - 1) * 100).toFixed(1)}%)` : "";
    console.log(
      `iter ${it}: rss ${(m.rss / MB).toFixed(0)} MB${gr}, heap ${(m.heapUsed / MB).toFixed(1)} MB`,
    );
  }
}

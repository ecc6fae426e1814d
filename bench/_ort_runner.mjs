// onnxruntime-node peer in a Node subprocess: the fallback main.ts uses when Deno cannot load the
// native addon. Same protocol as bench/_numpy_runner.py: `node bench/_ort_runner.mjs SPEC.json`
// reads the cases and float32 input files, times each forward case (one warm-up whose output is
// written as the check values, then runs until the budget is spent) and prints one JSON line.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { measure } from "mitata";
import { convModel, sameConv1d } from "./_onnx_model.mjs";

const GEOMETRY = {
  W1: { strides: [1, 1], pads: [[1, 1], [1, 1]] },
  W3f: { strides: [1, 1], pads: [[0, 0], [0, 0]], nhwc: true },
  W4: { strides: [1], pads: [[0, 0]] },
  W5: { strides: [1, 1, 1], pads: [[0, 0], [0, 0], [0, 0]] },
  W8: { same1d: true }, // geometry from sameConv1d
};

function load(inp) {
  const b = readFileSync(inp.file);
  return { data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), shape: inp.shape };
}

function hwioToOihw({ data, shape }) {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) {
          out[((o * ci + i) * kh + h) * kw + w] = data[((h * kw + w) * ci + i) * co + o];
        }
      }
    }
  }
  return { data: out, shape: [co, ci, kh, kw] };
}

async function main() {
  const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const { budget, outDir, threads } = spec;
  const require = createRequire(join(process.cwd(), "package.json"));
  const ort = require("onnxruntime-node");
  const results = [];
  for (const c of spec.cases) {
    const g = GEOMETRY[c.key];
    if (!g) {
      results.push({
        key: c.key,
        impl: "onnxruntime-node",
        error: {
          FFT: "not implemented (no ONNX DFT model here)",
          SOLVE: "not implemented (ONNX has no solve operator)",
        }[c.key] ?? "forward only (no training / autodiff)",
      });
      continue;
    }
    const r = {
      key: c.key,
      impl: "onnxruntime-node",
      note: `${threads} intra-op thread(s), Node subprocess`,
    };
    try {
      let x = load(c.inputs.x), w = g.nhwc ? hwioToOihw(load(c.inputs.w)) : load(c.inputs.w);
      if (g.same1d) ({ x, w, ...g } = { ...g, ...sameConv1d(x, w) });
      const model = convModel({
        xShape: x.shape,
        wShape: w.shape,
        w: w.data,
        strides: g.strides,
        pads: g.pads,
        nhwc: g.nhwc,
      });
      const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
      const feeds = { x: new ort.Tensor("float32", x.data, x.shape) };
      let t0 = performance.now();
      const first = (await session.run(feeds)).y.data;
      const warmup = performance.now() - t0;
      let calls = 1;
      if (c.key === "W3f") {
        t0 = performance.now();
        for (let i = 0; i < 10; i++) await session.run(feeds);
        const per = (performance.now() - t0) / 10;
        calls = Math.floor(
          Math.max(
            10,
            Math.min(budget.w3Calls, (budget.seconds * 1000) / (2 * Math.max(per, 1e-6))),
          ),
        );
      }
      let times = [];
      if (warmup <= budget.maxWarmupSeconds * 1000) {
        // the timing loop of bench/_harness.ts (timeRuns): mitata, one run per sample
        const stats = await measure(async () => {
          for (let i = 0; i < calls; i++) await session.run(feeds);
        }, {
          min_samples: budget.minRuns,
          max_samples: budget.maxRuns,
          min_cpu_time: budget.seconds * 1e9,
          warmup_samples: 0,
          samples_threshold: Number.MAX_SAFE_INTEGER,
        });
        times = stats.samples.map((ns) => ns / 1e6 / calls);
      }
      const path = join(outDir, `check_${c.key}_ort.f32`);
      writeFileSync(path, new Uint8Array(first.buffer, first.byteOffset, first.byteLength));
      Object.assign(r, { times, warmup, calls, check: path });
      await session.release?.();
    } catch (e) {
      r.error = String(e?.message ?? e).split("\n")[0];
    }
    results.push(r);
  }
  const runtime = { node: process.versions.node, ort: ort.env?.versions?.common ?? "?" };
  console.log(JSON.stringify({ runtime, results }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

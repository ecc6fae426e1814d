// deno-lint-ignore-file no-explicit-any -- onnxruntime-node is loaded dynamically (optional peer)
/**
 * Peer: onnxruntime-node (native CPU, MLAS), forward only. Each case is a one-Conv ONNX model
 * written as raw protobuf bytes (bench/_onnx_model.mjs) with the kernel as an initializer;
 * W3 wraps the Conv in NHWC<->NCHW Transpose nodes. Runs in-process when Deno loads the addon;
 * otherwise main.ts falls back to a Node subprocess (bench/_ort_runner.mjs).
 * @module
 */
import type { Case, Factory, Impl } from "./_harness.ts";
import { convModel, sameConv1d } from "./_onnx_model.mjs";

/** The pinned version. */
export const ORT_SPEC = "npm:onnxruntime-node@1.30.0";

/** Cases ORT cannot run, and why. */
export const ORT_REASONS: Record<string, string> = {
  W2: "forward only (no training / autodiff)",
  W3g: "forward only (no training / autodiff)",
  W6: "forward only (no training / autodiff)",
  W7: "no gradient (ONNX Runtime has no autodiff)",
  SORT: "not implemented (no ONNX sort model here)",
  W9: "no autodiff (ONNX Runtime has no gradients)",
  FFT: "not implemented (no ONNX DFT model here)",
  SOLVE: "not implemented (ONNX has no solve operator)",
};

/** Conv geometry of the forward cases: strides, pads, and whether the model is NHWC. */
export const ORT_GEOMETRY: Record<
  string,
  { strides: number[]; pads: [number, number][]; nhwc?: boolean; same1d?: boolean }
> = {
  W1: { strides: [1, 1], pads: [[1, 1], [1, 1]] },
  W3f: { strides: [1, 1], pads: [[0, 0], [0, 0]], nhwc: true },
  W4: { strides: [1], pads: [[0, 0]] },
  W5: { strides: [1, 1, 1], pads: [[0, 0], [0, 0], [0, 0]] },
  W8: { strides: [1], pads: [], same1d: true }, // geometry from sameConv1d
};

/** HWIO (W3's layout) → OIHW, as ONNX wants. */
export function hwioToOihw(
  data: Float32Array,
  shape: number[],
): { data: Float32Array; shape: number[] } {
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

/** Loads onnxruntime-node in-process; returns its row. */
export async function loadOrt(threads: number): Promise<{ impl: Impl; version: string }> {
  const ort: any = await import(ORT_SPEC);
  const factories: Record<string, Factory> = {};
  for (const key of Object.keys(ORT_GEOMETRY)) {
    factories[key] = async (inp, ctx) => {
      let g = ORT_GEOMETRY[key], x = inp.x;
      let k = g.nhwc ? hwioToOihw(inp.w.data, inp.w.shape) : inp.w;
      if (g.same1d) {
        const s = sameConv1d(inp.x, inp.w);
        [x, k, g] = [s.x, s.w, { ...g, strides: s.strides, pads: s.pads as [number, number][] }];
      }
      const model = convModel({
        xShape: x.shape,
        wShape: k.shape,
        w: k.data,
        strides: g.strides,
        pads: g.pads,
        nhwc: g.nhwc,
      });
      const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
      const feeds = { x: new ort.Tensor("float32", x.data, x.shape) };
      const c: Case = {
        calls: key === "W3f" ? ctx.w3Calls : undefined,
        note: `${threads} intra-op thread(s)${g.nhwc ? "; Transpose nodes around Conv" : ""}`,
        async run(want) {
          let out: Float32Array | undefined;
          for (let i = 0; i < (c.calls ?? 1); i++) {
            const r = await session.run(feeds);
            if (want && i === 0) out = Float32Array.from(r.y.data as Float32Array);
          }
          return out;
        },
        dispose() {
          session.release?.();
        },
      };
      return c;
    };
  }
  const version = ort.env?.versions?.common ?? "1.30.0";
  return { impl: { name: "onnxruntime-node", factories, reasons: ORT_REASONS }, version };
}

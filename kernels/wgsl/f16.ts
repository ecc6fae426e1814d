/**
 * float16 stored as 2-byte `f16` (devices with "shader-f16"): storage types, the store helper, and
 * the kernels that widen such arrays to f32 words and pack f32 words back, for kernels that
 * compute on f32 storage (contractions, sort, scatter, windows).
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { defineHelper, helperSource } from "./helpers.ts";
import { ENABLE_F16, flatMain, type RenderedKernel } from "./expr.ts";

export { ENABLE_F16, fromStorage, storageType } from "./expr.ts";

// an f32 rounded to float16 (tg_f16r) converts to f16 exactly; ±Infinity and NaN, whose
// conversion WGSL leaves indeterminate, come from f16 overflow and from converting NaN
// (a bitcast to vec2<f16> does not compile in naga; x - x folds to 0 on lavapipe)
defineHelper("tg_tof16", {
  deps: ["tg_f16r"],
  src: "fn tg_tof16(x: f32) -> f16 {\n" +
    "  let r = tg_f16r(x);\n" +
    "  if (abs(r) < 65520.0) { return f16(r); }\n" +
    "  let m = f16(select(-65504.0, 65504.0, r > 0.0)) * f16(2.0);\n" +
    "  return select(m, f16(r), tg_isnan(r));\n}\n",
});

/** A value stored to a `d` array: through `tg_tof16` for an f16 array, else as it is. */
export function toStorage(d: DType, f16: boolean, v: string, use: (h: string) => void): string {
  if (!(f16 && d === "float16")) return v;
  use("tg_tof16");
  return `tg_tof16(${v})`;
}

/** A kernel copying `n` f16 elements (binding 0) into f32 words (binding 1). */
export function widenF16Kernel(n: number, maxWg: number): RenderedKernel {
  const m = flatMain(n, maxWg);
  const code = `${ENABLE_F16}@group(0) @binding(0) var<storage, read> src: array<f16>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
${m.head}
  dst[o] = f32(src[o]);
}
`;
  return { code, dispatch: m.dispatch };
}

/** A kernel rounding `n` f32 words (binding 0) to float16 into an f16 array (binding 1). */
export function packF16Kernel(n: number, maxWg: number): RenderedKernel {
  const m = flatMain(n, maxWg);
  const code = `${ENABLE_F16}@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f16>;
${helperSource(["tg_tof16"])}${m.head}
  dst[o] = tg_tof16(src[o]);
}
`;
  return { code, dispatch: m.dispatch };
}

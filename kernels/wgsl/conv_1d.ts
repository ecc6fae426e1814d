/**
 * Sliding-window 1-D convolution for software adapters (llvmpipe) with 1-4 output features per
 * group and long rows: each invocation keeps a vec4 window of its input row in registers and
 * walks the kernel four taps at a time (taps from a uniform buffer); see `conv1dKernel`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { flatMain, spread } from "./expr.ts";
import type { EpilogueSpec } from "./epilogue.ts";
import { type ConvGeometry, type ConvKernels, type ConvTuning, mainStore } from "./conv.ts";

/**
 * Output positions per invocation: 32 for one or two features, 16 for three or four. Measured
 * on llvmpipe (x 1e6 samples, 101 taps, medians incl. the ~11 ms sync): 1 feature 8/16/32
 * positions ≈ 50/40/30 ms; 4 features 4/8/16/32 ≈ 80/54/45/41 ms (flat from 16 up).
 */
export function conv1dBlock(g: ConvGeometry, tuning: ConvTuning): number {
  return tuning.tn ?? (g.Mz <= 2 ? 32 : 16);
}

/** Vec4s of the uniform weight layout: [group][input feature][chunk of 4 taps][feature]. */
function uniformVecs(g: ConvGeometry): number {
  return g.Gz * g.I * Math.ceil(g.K[0] / 4) * g.Mz;
}

/**
 * True when the sliding-window kernel applies: float32, one spatial axis contiguous in the
 * input with stride 1, no dilations, no batch groups, 1–4 features per group, rows of at least
 * 64 outputs, vec4-aligned input rows, and the rearranged weights fit one uniform binding.
 */
export function conv1dApplicable(g: ConvGeometry, dtype: DType, tuning: ConvTuning): boolean {
  if (dtype !== "float32" || g.nd !== 1 || g.B !== 1) return false;
  const maxBytes = tuning.maxUniformBytes ?? 0;
  return g.Mz >= 1 && g.Mz <= 4 && g.stride[0] === 1 && g.ldil[0] === 1 && g.rdil[0] === 1 &&
    g.xS[0] === 1 && g.X[0] % 4 === 0 && g.xN % 4 === 0 && g.xC % 4 === 0 &&
    g.Y[0] >= 64 && g.K[0] >= 1 && g.I >= 1 && g.cols > 0 && uniformVecs(g) * 16 <= maxBytes;
}

/**
 * Renders the sliding-window kernel and its weight prep.
 *
 * Sliding-window 1-D convolution for software adapters (llvmpipe) with very few output features
 * per group (1–4) and long rows, e.g. a long signal correlated with a long kernel. Each
 * invocation owns TN consecutive outputs of one row for all of its group's features. For each
 * input feature it keeps a window of TN/4 + 1 aligned vec4s of the input row in registers and
 * walks the kernel four taps at a time: per step it loads one new vec4 of input (a bounds test
 * handles padding, nothing is copied) and one vec4 of four taps per feature from a uniform
 * buffer (uniform loads are a plain gather on llvmpipe; storage loads a bounds-checked per-lane
 * loop), then runs 4 · TN · M fused multiply-adds from registers. The last K mod 4 taps run
 * once after the loop with only their real taps (no products with padding weights). Output
 * blocks are shifted so that each window starts on a vec4 boundary of the input row.
 */
export function conv1dKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const TN = conv1dBlock(g, tuning), WG = tuning.wg ?? 64;
  const M = g.Mz, K = g.K[0], X = g.X[0], Y = g.Y[0], lo = g.lo[0];
  const nv = TN / 4, Cc = Math.ceil(K / 4), Cf = Math.floor(K / 4), rem = K % 4;
  // shift blocks so that the window origin y0 - lo is a multiple of 4
  const r = ((lo % 4) + 4) % 4 === 0 ? 0 : 4 - (((lo % 4) + 4) % 4);
  const nb = Math.ceil((Y + r) / TN), total = g.outN * g.Gz * nb;
  const dispatch = spread(Math.ceil(total / WG), maxWg);
  const st = mainStore(g, dtype, 1, ep);
  const fmas = (taps: number, wv: string) => {
    let s = "";
    for (let k = 0; k < taps; k++) {
      for (let j = 0; j < TN; j++) {
        const e = k + j;
        for (let m = 0; m < M; m++) {
          s += `      a${m}_${j} = fma(${wv}${m}[${k}], v${e >> 2}[${e & 3}], a${m}_${j});\n`;
        }
      }
    }
    return s;
  };
  const loadW = (c: string, ind: string) =>
    Array.from({ length: M }, (_, m) => `${ind}let w${m} = wt[wb + ${c} * ${M} + ${m}];\n`)
      .join("");
  let acc = "";
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < TN; j++) acc += `  var a${m}_${j} = 0.0;\n`;
  }
  let init = "";
  for (let t = 0; t < nv; t++) init += `    var v${t} = ld(xr, xs + ${4 * t});\n`;
  let shift = "";
  for (let t = 0; t < nv; t++) shift += `      v${t} = v${t + 1};\n`;
  const tail = rem === 0 ? "" : `    {
      let v${nv} = ld(xr, xs + (${Cf + nv}) * 4);
${loadW(`${Cf}`, "      ")}${fmas(rem, "w")}    }
`;
  let store = "";
  for (let j = 0; j < TN; j++) {
    store += `  if (y0 + ${j} >= 0 && y0 + ${j} < ${Y}) {\n`;
    for (let m = 0; m < M; m++) {
      store += `    ${st.target(`ob + ${j * g.oS[0]}`, `${m}`, "")}, a${m}_${j});\n`;
    }
    store += "  }\n";
  }
  const rowOf = g.Gz > 1
    ? `let z = row / ${g.outN}; let n = row % ${g.outN};`
    : "let z = 0; let n = row;";
  const code = `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> wt: array<vec4<f32>, ${uniformVecs(g)}>;
${st.decls}${st.fns}
fn ld(xr: i32, p: i32) -> vec4<f32> {
  let ok = p >= 0 && p < ${X};
  return select(vec4<f32>(), x[select(0, xr + p / 4, ok)], ok);
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = (i32(wid.y) * ${dispatch[0]} + i32(wid.x)) * ${WG} + i32(lid);
  if (gid >= ${total}) { return; }
  let row = gid / ${nb}; let blk = gid % ${nb};
  ${rowOf}
  let y0 = blk * ${TN} - ${r};
  let xs = y0 - ${lo};
  let ob = n * ${g.oN} + y0 * ${g.oS[0]};
${acc}  for (var i = 0; i < ${g.I}; i++) {
    let xr = (n * ${g.xN} + (z * ${g.I} + i) * ${g.xC}) / 4;
    let wb = (z * ${g.I} + i) * ${Cc * M};
${init}    for (var c = 0; c < ${Cf}; c++) {
      let v${nv} = ld(xr, xs + (c + ${nv}) * 4);
${loadW("c", "      ")}${fmas(4, "w")}${shift}    }
${tail}  }
${store}}
`;
  return {
    prep: conv1dPrep(g, maxWg),
    wtLength: uniformVecs(g) * 4,
    main: { code, dispatch },
    extraSlots: st.extraSlots,
    mainRanges: { count: 1, stride: uniformVecs(g) * 4 },
  };
}

/** Rearranges the weights into the uniform layout (zeros past the last tap). */
function conv1dPrep(g: ConvGeometry, maxWg: number) {
  const M = g.Mz, Cc = Math.ceil(g.K[0] / 4), total = uniformVecs(g) * 4;
  const { dispatch, head } = flatMain(total, maxWg);
  const code = `@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${head}
  let q = o % 4; let e = o / 4;
  let m = e % ${M}; let c = (e / ${M}) % ${Cc}; let zi = e / ${M * Cc};
  let z = zi / ${g.I}; let i = zi % ${g.I};
  let k = c * 4 + q;
  var v = 0.0;
  if (k < ${g.K[0]}) { v = w[(z * ${M} + m) * ${g.wO} + i * ${g.wI} + k * ${g.wS[0]}]; }
  out[o] = v;
}
`;
  return { code, dispatch };
}

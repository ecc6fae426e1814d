/**
 * The row-vector form of the register convolution kernel for software adapters: TN adjacent
 * positions of a row read as aligned vec4 windows per outer tap and input feature, weights in
 * uniform ranges where they fit; see `rowsKernel`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { flatMain, wgslType } from "./expr.ts";
import type { EpilogueSpec } from "./epilogue.ts";
import {
  type ConvGeometry,
  type ConvKernels,
  type ConvTuning,
  decompose,
  finish,
  mainStore,
  splitK,
} from "./conv.ts";

/** True when the row-vector kernel applies to this geometry with TN positions per invocation. */
export function rowsApplicable(g: ConvGeometry, dtype: DType, tn: number): boolean {
  const L = g.nd - 1;
  if (dtype !== "float32" || g.nd < 1 || tn % 4 !== 0) return false;
  const stridesOk = [g.xN, g.xC, ...g.xS.slice(0, L)].every((s) => s % 4 === 0);
  return g.xS[L] === 1 && g.stride[L] === 1 && g.ldil[L] === 1 && g.X[L] % 4 === 0 &&
    g.Y[L] % tn === 0 && stridesOk && g.cols > 0 && g.KD > 0;
}

/**
 * Row-kernel tiles: with uniform weights (16 features' weights fit a uniform range) 16 × 16;
 * else TN positions (the largest of 32, 16, 8, 4 dividing the row) × TM 8 features (fewer when
 * there are fewer); 32 lanes; narrower workgroups, then shorter runs, while fewer than 16
 * workgroups would run. Measured on llvmpipe (W1 main kernel, same run): generic register
 * kernel 32 × 8 67 ms, rows 8 × 32 48 ms; with uniform weights 16 × 16 about 20% below rows
 * 8 × 32 (16 × 32 no faster and ~3× slower to compile).
 */
export function rowsTiles(g: ConvGeometry, tuning: ConvTuning): [number, number, number] {
  const YL = g.Y[g.nd - 1] ?? 1;
  // with uniform weights (cheap weight loads) 16 × 16 is faster still
  const wide = g.Mz >= 16 && YL % 16 === 0 && uniformLayout(g, 16, tuning) !== null;
  let tn = wide ? 16 : [32, 16, 8, 4].find((n) => YL % n === 0) ?? 1;
  const tm = wide ? 16 : g.Mz <= 1 ? 1 : g.Mz <= 2 ? 2 : g.Mz <= 4 ? 4 : 8;
  let wg = 32;
  const groups = () => Math.ceil(g.cols / tn / wg) * Math.ceil(g.Mz / tm) * g.Gz;
  while (groups() < 16 && wg > 8) wg /= 2;
  while (groups() < 16 && tn > 4 && g.KD < 4096) tn /= 2;
  return [tuning.tm ?? tm, tuning.tn ?? tn, tuning.wg ?? wg];
}

/** The sizes the parts of the row-vector kernel share. */
interface Rows {
  TM: number;
  TN: number;
  WG: number;
  /** Storage type, weight vector width and type, vectors per TM features. */
  t: string;
  vw: number;
  wT: string;
  nv: number;
  /** Innermost spatial axis, its kernel extent, rhs dilation and input extent. */
  L: number;
  KL: number;
  dl: number;
  XL: number;
  /** Position blocks, weight row length in vectors, window offsets and vec4 count. */
  blocks: number;
  rowLen: number;
  sal: number;
  s0: number;
  nC: number;
}

/** Block setup: batch n, output row (outer coordinates), x0, window tests, accumulators. */
function rowsSetup(g: ConvGeometry, r: Rows): string {
  const batch = g.B > 1 ? `(z * ${g.outN} + n)` : "n";
  const chan = g.G > 1 ? ` + z * ${g.I * g.xC}` : "";
  let setup = `  let blk = min(i32(wid.x) * ${r.WG} + i32(lid), ${r.blocks - 1});
  let cb = blk * ${r.TN};
  let n = cb / ${g.nY}; let yy = cb % ${g.nY};
  ${decompose("yy", g.Y, "y")}
  let xb = ${batch} * ${g.xN}${chan};
  let ob = n * ${g.oN}${g.oS.map((s, d) => ` + y${d} * ${s}`).join("")};
  let xs = y${r.L} - ${r.sal};
`;
  for (let c = 0; c < r.nC; c++) {
    setup += `  let okc${c} = xs + ${4 * c} >= 0 && xs + ${4 * c} < ${r.XL};\n`;
  }
  for (let j = 0; j < r.TN; j++) {
    for (let v = 0; v < r.nv; v++) setup += `  var a${j}_${v} = ${r.wT}();\n`;
  }
  return setup;
}

/** Per outer tap `to`: the input row's offset `xr`, its bounds test `okr`, weights offset `wk`. */
function rowsTapRow(g: ConvGeometry, r: Rows, uniform: boolean): string {
  let outer = `    ${decompose("to", g.K.slice(0, r.L), "t")}\n`;
  const conds: string[] = [];
  const terms: string[] = ["xb", "xs"];
  for (let d = 0; d < r.L; d++) {
    outer += `    let p${d} = y${d} * ${g.stride[d]} - ${g.lo[d]} + t${d} * ${g.rdil[d]};\n`;
    if (g.ldil[d] === 1) {
      conds.push(`p${d} >= 0`, `p${d} < ${g.X[d]}`);
      terms.push(`p${d} * ${g.xS[d]}`);
    } else {
      conds.push(`p${d} >= 0`, `p${d} % ${g.ldil[d]} == 0`, `p${d} / ${g.ldil[d]} < ${g.X[d]}`);
      terms.push(`(p${d} / ${g.ldil[d]}) * ${g.xS[d]}`);
    }
  }
  outer += `    let okr = ${conds.join(" && ") || "true"};\n`;
  outer += `    let xr = ${terms.join(" + ")};\n`;
  outer += uniform
    ? `    let wk = 1 + to * ${r.KL * g.I * r.rowLen};\n`
    : `    let wk = (z * ${g.KD} + to * ${r.KL * g.I}) * ${r.rowLen} + m0 / ${r.vw};\n`;
  return outer;
}

/** Per input channel i: the vec4 window of the row, then TN × TM fmas per inner tap. */
function rowsChannel(g: ConvGeometry, r: Rows): string {
  let inner = `      let xq = (xr + i * ${g.xC}) / 4;\n`;
  for (let c = 0; c < r.nC; c++) {
    inner += `      let ok${c} = okr && okc${c};\n`;
    inner +=
      `      let xv${c} = select(vec4<${r.t}>(), x[select(0, xq + ${c}, ok${c})], ok${c});\n`;
  }
  for (let k = 0; k < r.KL; k++) {
    for (let v = 0; v < r.nv; v++) {
      inner += `      let w${k}_${v} = wt[wk + (${k * g.I} + i) * ${r.rowLen} + ${v}];\n`;
    }
    for (let j = 0; j < r.TN; j++) {
      const e = r.s0 + k * r.dl + j;
      const b = `xv${e >> 2}[${e & 3}]`;
      for (let v = 0; v < r.nv; v++) {
        inner += `      a${j}_${v} = fma(w${k}_${v}, ${
          r.vw === 4 ? `${r.wT}(${b})` : b
        }, a${j}_${v});\n`;
      }
    }
  }
  return inner;
}

/** Stores the TN × TM accumulators (through the epilogue, if any). */
function rowsStore(g: ConvGeometry, r: Rows, st: ReturnType<typeof mainStore>): string {
  let store = "";
  const oL = g.oS[r.L];
  for (let j = 0; j < r.TN; j++) {
    store += `  if (i32(wid.x) * ${r.WG} + i32(lid) < ${r.blocks}) {\n`;
    for (let q = 0; q < r.TM; q++) {
      const acc = r.vw === 4 ? `a${j}_${q >> 2}[${q & 3}]` : `a${j}_${q}`;
      store += `    if (m0 + ${q} < ${g.Mz}) { ${
        st.target(`ob + ${j * oL}`, `m0 + ${q}`, `cb + ${j}`)
      }, ${acc}); }\n`;
    }
    store += "  }\n";
  }
  return store;
}

/**
 * Renders the row-vector register kernel; TM, TN, WG as chosen.
 *
 * The row-vector form of the register convolution kernel, for software adapters (llvmpipe runs
 * each invocation as a SIMD lane, and every storage load is a per-lane loop, so loads dominate).
 * Each invocation owns TN adjacent output positions of one row (last spatial axis) and TM output
 * features. For each outer tap (all spatial axes but the last) and input feature it loads the
 * input row segment that every last-axis tap needs as a few aligned vec4s (instead of TN scalar
 * loads per tap), then runs the last-axis taps from registers. Padding along the row is handled
 * per vec4 (positions and row length are multiples of 4), padding of the outer axes per row.
 * Applies when the last spatial axis is contiguous in the input, has stride 1 and no lhs
 * dilation, and its input and output lengths are multiples of 4 and TN. Where a slab of TM
 * features' weights fits a uniform binding (and the caller allows it), the weights are
 * rearranged into uniform ranges, one dispatch per (group, slab): uniform loads are a
 * straight-line gather on llvmpipe instead of a bounds-checked per-lane loop.
 */
export function rowsKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
  [TM, TN, WG]: [number, number, number],
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const t = wgslType(dtype);
  const L = g.nd - 1;
  const KL = g.K[L], dl = g.rdil[L], lo = g.lo[L];
  const nTo = g.nT / KL;
  const mpad = Math.ceil(g.Mz / TM) * TM;
  const vw = TM >= 4 ? 4 : 1, nv = TM / vw, wT = vw === 4 ? `vec4<${t}>` : t;
  const blocks = g.cols / TN;
  const gx = Math.ceil(blocks / WG), gy = mpad / TM;
  const { S, bounds: [tapLo, tapHi, iLo, iHi] } = splitK(g, gx * gy * g.Gz, nTo, 2, 64, tuning);
  const st = mainStore(g, dtype, S, ep);
  const ubo = uniformLayout(g, TM, tuning);
  // weight row length in vectors: all padded features (storage) or one slab (uniform ranges)
  const rowLen = (ubo ? TM : mpad) / vw;
  // window element e is input position x0 - sal + e; tap k, position j reads e = s0 + k*dl + j
  const sal = 4 * Math.ceil(lo / 4), s0 = sal - lo;
  const nC = Math.floor((s0 + (KL - 1) * dl + TN - 1) / 4) + 1;
  const r: Rows = { TM, TN, WG, t, vw, wT, nv, L, KL, dl, XL: g.X[L], blocks, rowLen, sal, s0, nC };
  // uniform weights: one dispatch per (group, feature slab), its slab and group in a header
  const wDecl = ubo
    ? `var<uniform> wt: array<${wT}, ${ubo.stride / 4}>`
    : `var<storage, read> wt: array<${wT}>`;
  const head = ubo
    ? `  let hd = vec4<i32>(wt[0]);
  let z = hd.y; let s = i32(wid.z); let zz = z * ${S} + s;
  let m0 = hd.x;
`
    : `  let zz = i32(wid.z);
  let z = zz / ${S}; let s = zz % ${S};
  let m0 = i32(wid.y) * ${TM};
`;
  const code = `@group(0) @binding(0) var<storage, read> x: array<vec4<${t}>>;
@group(0) @binding(1) ${wDecl};
${st.decls}${st.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${head}${rowsSetup(g, r)}  for (var to = ${tapLo}; to < ${tapHi}; to++) {
${rowsTapRow(g, r, ubo !== null)}    for (var i = ${iLo}; i < ${iHi}; i++) {
${rowsChannel(g, r)}    }
  }
${rowsStore(g, r, st)}}
`;
  if (!ubo) return finish(g, dtype, mpad, S, [gx, gy, g.Gz * S], code, st.extraSlots, ep, maxWg);
  const k = finish(g, dtype, mpad, S, [gx, 1, S], code, st.extraSlots, ep, maxWg);
  k.prep = uniformPrep(g, TM, ubo.stride, maxWg);
  k.wtLength = ubo.count * ubo.stride;
  k.mainRanges = ubo;
  return k;
}

/**
 * The uniform-buffer layout of the weights, or null when they do not fit: one range per
 * (group, slab of TM features), `stride` elements apart (a multiple of the offset alignment):
 * a header vec4 (first feature, group; small integers as floats) then the slab's [k][TM]
 * weights. Uniform loads are much cheaper than storage loads on llvmpipe (no per-lane
 * bounds-checked loop).
 */
function uniformLayout(g: ConvGeometry, TM: number, tuning: ConvTuning) {
  const maxBytes = tuning.maxUniformBytes ?? 0, align = tuning.uniformAlign ?? 256;
  if (TM % 4 !== 0 || align % 16 !== 0) return null;
  const slabs = Math.ceil(g.Mz / TM), count = g.Gz * slabs;
  const stride = Math.ceil((4 + g.KD * TM) * 4 / align) * align / 4;
  if (stride * 4 > maxBytes || count > 64) return null;
  return { count, stride };
}

/** Weight prep into the uniform layout (see `uniformLayout`). */
function uniformPrep(g: ConvGeometry, TM: number, stride: number, maxWg: number) {
  const slabs = Math.ceil(g.Mz / TM), total = g.Gz * slabs * stride;
  const { dispatch, head } = flatMain(total, maxWg);
  const woff = g.wS.map((s, d) => `t${d} * ${s}`).join(" + ") || "0";
  const code = `@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${head}
  let d = o / ${stride}; let r = o % ${stride};
  let z = d / ${slabs}; let slab = d % ${slabs};
  let q = max(r - 4, 0);
  let k = min(q / ${TM}, ${g.KD - 1}); let m = slab * ${TM} + q % ${TM};
  let tap = k / ${g.I}; let i = k % ${g.I};
  ${decompose("tap", g.K, "t")}
  var v = 0.0;
  if (r == 0) { v = f32(slab * ${TM}); }
  if (r == 1) { v = f32(z); }
  if (r >= 4 && q < ${g.KD * TM} && m < ${g.Mz}) {
    v = w[(z * ${g.Mz} + m) * ${g.wO} + i * ${g.wI} + ${woff}];
  }
  out[o] = v;
}
`;
  return { code, dispatch };
}

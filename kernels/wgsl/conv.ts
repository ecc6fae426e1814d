/**
 * WGSL convolution as an implicit GEMM per group: out[z][m][col] = Σ_k W[z][k][m] · X[z][k][col]
 * with k = (tap, input channel) and col = (batch, output position); X is never materialized
 * (each tap's input offsets and padding/dilation tests are computed once per column and reused
 * for every input channel). Weights are first rearranged to [group][k][m] (m padded) so the
 * kernel reads them as vec4. Two variants: `register` (each invocation accumulates TM×TN outputs
 * in registers, no workgroup memory: fastest on software adapters) and `shared` (64×64 tiles
 * staged in workgroup memory, for real GPUs). Any layout, strides, padding, dilations, groups.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { ConvParams } from "../../lib/ops/conv_params.ts";
import { sizeOf, stridesOf } from "../../lib/shape.ts";
import { spread, wgslType } from "../render_wgsl.ts";
import { type EpilogueSpec, storeCode } from "./epilogue.ts";

/** Everything the kernels need to know about one convolution's shapes. */
export interface ConvGeometry {
  nd: number;
  /** Groups run along dispatch z (feature groups or batch groups). */
  Gz: number;
  G: number;
  B: number;
  /** Output features per group. */
  Mz: number;
  /** Input features per group. */
  I: number;
  /** Output batch. */
  outN: number;
  X: number[];
  K: number[];
  Y: number[];
  nT: number;
  nY: number;
  cols: number;
  KD: number;
  stride: number[];
  lo: number[];
  ldil: number[];
  rdil: number[];
  /** lhs strides: batch, feature, spatial. */
  xN: number;
  xC: number;
  xS: number[];
  wO: number;
  wI: number;
  wS: number[];
  oN: number;
  oC: number;
  oS: number[];
}

/** The geometry of a convolution. */
export function convGeometry(
  lhsShape: number[],
  rhsShape: number[],
  outShape: number[],
  p: ConvParams,
): ConvGeometry {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const sL = stridesOf(lhsShape), sR = stridesOf(rhsShape), sO = stridesOf(outShape);
  const G = p.featureGroupCount, B = p.batchGroupCount, Gz = G * B;
  const O = rhsShape[rs[0]], I = rhsShape[rs[1]];
  const K = rs.slice(2).map((a) => rhsShape[a]);
  const Y = os.slice(2).map((a) => outShape[a]);
  const nT = sizeOf(K), nY = sizeOf(Y), outN = outShape[os[0]];
  return {
    nd: K.length,
    Gz,
    G,
    B,
    Mz: O / Gz,
    I,
    outN,
    X: ls.slice(2).map((a) => lhsShape[a]),
    K,
    Y,
    nT,
    nY,
    cols: outN * nY,
    KD: nT * I,
    stride: p.windowStrides,
    lo: p.padding.map((q) => q[0]),
    ldil: p.lhsDilation,
    rdil: p.rhsDilation,
    xN: sL[ls[0]],
    xC: sL[ls[1]],
    xS: ls.slice(2).map((a) => sL[a]),
    wO: sR[rs[0]],
    wI: sR[rs[1]],
    wS: rs.slice(2).map((a) => sR[a]),
    oN: sO[os[0]],
    oC: sO[os[1]],
    oS: os.slice(2).map((a) => sO[a]),
  };
}

/** Statements `let <p>d = ...;` decomposing `flat` over `dims` (row-major). */
function decompose(flat: string, dims: number[], p: string): string {
  let s = "", stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    const q = stride === 1 ? flat : `(${flat} / ${stride})`;
    s += `let ${p}${d} = ${d === 0 ? q : `${q} % ${dims[d]}`}; `;
    stride *= dims[d];
  }
  return s;
}

/** One rendered dispatch. */
export interface ConvDispatch {
  code: string;
  dispatch: [number, number, number];
}

/** The rendered kernels of one convolution. */
export interface ConvKernels {
  /** Weight rearrangement: binds (rhs, wt). */
  prep: ConvDispatch;
  /** Elements of the rearranged weights. */
  wtLength: number;
  /** The convolution: binds (lhs, wt, epilogue inputs..., out). */
  main: ConvDispatch;
  /** Epilogue input slots bound after (lhs, wt). */
  extraSlots: number[];
}

/** Tuning of the register variant. */
export interface ConvTuning {
  variant: "register" | "shared";
  maxWorkgroupsPerDim: number;
  /** Register variant: output features per invocation (4, 8 or 16; default by size). */
  tm?: number;
  /** Register variant: output positions per invocation (default by size). */
  tn?: number;
}

function prepKernel(g: ConvGeometry, t: string, mpad: number, maxWg: number): ConvDispatch {
  const total = g.Gz * g.KD * mpad;
  const dispatch = spread(Math.ceil(total / 64), maxWg);
  const woff = g.wS.map((s, d) => `t${d} * ${s}`).join(" + ") || "0";
  const code = `@group(0) @binding(0) var<storage, read> w: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = i32((wid.y * ${dispatch[0]}u + wid.x) * 64u + lid);
  if (o >= ${total}) { return; }
  let m = o % ${mpad}; let k = (o / ${mpad}) % ${g.KD}; let z = o / ${mpad * g.KD};
  let tap = k / ${g.I}; let i = k % ${g.I};
  ${decompose("tap", g.K, "t")}
  var v = ${t}(0);
  if (m < ${g.Mz}) { v = w[(z * ${g.Mz} + m) * ${g.wO} + i * ${g.wI} + ${woff}]; }
  out[o] = v;
}
`;
  return { code, dispatch };
}

/** WGSL computing `ok<j>` and `of<j>` (lhs offset of column j at the current tap). */
function tapOffsets(g: ConvGeometry, j: string, ind: string): string {
  let s = "";
  const conds: string[] = [];
  const terms: string[] = [`xb${j}`];
  for (let d = 0; d < g.nd; d++) {
    const p = `p${j}_${d}`;
    s += `${ind}let ${p} = q${j}_${d} + t${d} * ${g.rdil[d]};\n`;
    if (g.ldil[d] === 1) {
      conds.push(`${p} >= 0`, `${p} < ${g.X[d]}`);
      terms.push(`${p} * ${g.xS[d]}`);
    } else {
      conds.push(`${p} >= 0`, `${p} % ${g.ldil[d]} == 0`, `${p} / ${g.ldil[d]} < ${g.X[d]}`);
      terms.push(`(${p} / ${g.ldil[d]}) * ${g.xS[d]}`);
    }
  }
  s += `${ind}let ok${j} = ${conds.join(" && ") || "true"};\n`;
  s += `${ind}let of${j} = select(0, ${terms.join(" + ")}, ok${j});\n`;
  return s;
}

/** Per-column setup: batch/feature base `xb<j>`, window origin `q<j>_d`, output offset `ob<j>`. */
function columnSetup(g: ConvGeometry, j: string, col: string, ind: string): string {
  const batch = g.B > 1 ? `(z * ${g.outN} + n${j})` : `n${j}`;
  const chan = g.G > 1 ? ` + z * ${g.I * g.xC}` : "";
  let s = `${ind}let cc${j} = min(${col}, ${g.cols - 1});\n`;
  s += `${ind}let n${j} = cc${j} / ${g.nY}; let y${j} = cc${j} % ${g.nY};\n`;
  s += `${ind}${decompose(`y${j}`, g.Y, `y${j}_`)}\n`;
  for (let d = 0; d < g.nd; d++) {
    s += `${ind}let q${j}_${d} = y${j}_${d} * ${g.stride[d]} - ${g.lo[d]};\n`;
  }
  s += `${ind}let xb${j} = ${batch} * ${g.xN}${chan};\n`;
  const yo = g.oS.map((st, d) => ` + y${j}_${d} * ${st}`).join("");
  s += `${ind}let ob${j} = n${j} * ${g.oN}${yo};\n`;
  return s;
}

function registerKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const t = wgslType(dtype);
  const WG = 64;
  const TM = tuning.tm ?? (g.Mz <= 4 ? 4 : g.Mz <= 8 ? 8 : 16);
  // small problems get small tiles: less padding waste and much faster shader compiles
  const TN = tuning.tn ?? (g.cols <= WG ? 1 : g.cols <= WG * 4 ? 2 : g.cols <= WG * 32 ? 4 : 8);
  const mpad = Math.ceil(g.Mz / TM) * TM;
  const v4 = TM / 4;
  const st = storeCode(dtype, 2, ep);
  const ind = "  ";
  let setup = "";
  for (let j = 0; j < TN; j++) setup += columnSetup(g, `${j}`, `cb + ${j * WG}`, ind);
  let accs = "";
  for (let j = 0; j < TN; j++) {
    for (let v = 0; v < v4; v++) accs += `${ind}var a${j}_${v} = vec4<${t}>();\n`;
  }
  let offs = "";
  for (let j = 0; j < TN; j++) offs += tapOffsets(g, `${j}`, "    ");
  let inner = "";
  for (let v = 0; v < v4; v++) inner += `      let w${v} = wt[wr + ${v}];\n`;
  for (let j = 0; j < TN; j++) {
    inner += `      let b${j} = select(${t}(0), x[of${j} + xo], ok${j});\n`;
  }
  for (let j = 0; j < TN; j++) {
    for (let v = 0; v < v4; v++) {
      inner += t === "f32"
        ? `      a${j}_${v} = fma(w${v}, vec4<f32>(b${j}), a${j}_${v});\n`
        : `      a${j}_${v} = a${j}_${v} + w${v} * vec4<${t}>(b${j});\n`;
    }
  }
  let store = "";
  for (let j = 0; j < TN; j++) {
    store += `  if (cb + ${j * WG} < ${g.cols}) {\n`;
    for (let r = 0; r < TM; r++) {
      store +=
        `    if (m0 + ${r} < ${g.Mz}) { store_out(ob${j} + (z * ${g.Mz} + m0 + ${r}) * ${g.oC}, a${j}_${
          r >> 2
        }[${r & 3}]); }\n`;
    }
    store += "  }\n";
  }
  const gx = Math.ceil(g.cols / (WG * TN));
  const code = `@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<${t}>>;
${st.decls}${st.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let z = i32(wid.z);
  let m0 = i32(wid.y) * ${TM};
  let cb = i32(wid.x) * ${WG * TN} + i32(lid);
${setup}${accs}  for (var tap = 0; tap < ${g.nT}; tap++) {
    ${decompose("tap", g.K, "t")}
${offs}    let wk = (z * ${g.KD} + tap * ${g.I}) * ${mpad / 4} + m0 / 4;
    for (var i = 0; i < ${g.I}; i++) {
      let wr = wk + i * ${mpad / 4};
      let xo = i * ${g.xC};
${inner}    }
  }
${store}}
`;
  if (gx > maxWg || mpad / TM > maxWg || g.Gz > maxWg) {
    throw new RangeError(
      `conv: problem too large for one dispatch (${gx} x ${mpad / TM} x ${g.Gz} workgroups)`,
    );
  }
  return {
    prep: prepKernel(g, t, mpad, maxWg),
    wtLength: g.Gz * g.KD * mpad,
    main: { code, dispatch: [gx, mpad / TM, g.Gz] },
    extraSlots: st.extraSlots,
  };
}

function sharedKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  maxWg: number,
): ConvKernels {
  const t = wgslType(dtype);
  const BM = 64, BN = 64, BK = 16;
  const mpad = Math.ceil(g.Mz / BM) * BM;
  const st = storeCode(dtype, 2, ep);
  // B tile loads: thread -> row kk = lid / 16, columns (lid % 16) * 4 + c
  let colSetup = "";
  for (let c = 0; c < 4; c++) colSetup += columnSetup(g, `${c}`, `cn0 + lc * 4 + ${c}`, "  ");
  let loadB = "";
  for (let c = 0; c < 4; c++) loadB += tapOffsets(g, `${c}`, "    ");
  const bv = [0, 1, 2, 3].map((c) =>
    `select(${t}(0), x[of${c} + xo], ok${c} && kin && cn0 + lc * 4 + ${c} < ${g.cols})`
  );
  let fmaLines = "";
  for (let r = 0; r < 4; r++) {
    fmaLines += t === "f32"
      ? `      acc${r} = fma(vec4<f32>(a[${r}]), b, acc${r});\n`
      : `      acc${r} = acc${r} + vec4<${t}>(a[${r}]) * b;\n`;
  }
  let store = "";
  for (let c = 0; c < 4; c++) {
    store += `  { let col = cn0 + tx * 4 + ${c};\n    if (col < ${g.cols}) {\n      ${
      columnSetup(g, "s", "col", "      ").trim()
    }\n`;
    for (let r = 0; r < 4; r++) {
      store +=
        `      if (m0 + ty * 4 + ${r} < ${g.Mz}) { store_out(obs + (z * ${g.Mz} + m0 + ty * 4 + ${r}) * ${g.oC}, acc${r}[${c}]); }\n`;
    }
    store += "    }\n  }\n";
  }
  const code = `@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<${t}>>;
${st.decls}${st.fns}
var<workgroup> ta: array<vec4<${t}>, ${(BK * BM) / 4}>;
var<workgroup> tb: array<vec4<${t}>, ${(BK * BN) / 4}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidu: u32) {
  let lid = i32(lidu);
  let z = i32(wid.z);
  let m0 = i32(wid.y) * ${BM};
  let cn0 = i32(wid.x) * ${BN};
  let tx = lid % 16; let ty = lid / 16;
  let lk = lid / 16; let lc = lid % 16;
${colSetup}  var acc0 = vec4<${t}>(); var acc1 = vec4<${t}>(); var acc2 = vec4<${t}>(); var acc3 = vec4<${t}>();
  for (var k0 = 0; k0 < ${g.KD}; k0 += ${BK}) {
    let ka = k0 + lk;
    let kin = ka < ${g.KD};
    ta[lid] = select(vec4<${t}>(), wt[(z * ${g.KD} + min(ka, ${Math.max(g.KD - 1, 0)})) * ${
    mpad / 4
  } + m0 / 4 + lc], kin);
    let tap = min(ka, ${Math.max(g.KD - 1, 0)}) / ${g.I}; let xo = (min(ka, ${
    Math.max(g.KD - 1, 0)
  }) % ${g.I}) * ${g.xC};
    ${decompose("tap", g.K, "t")}
${loadB}    tb[lid] = vec4<${t}>(${bv.join(", ")});
    workgroupBarrier();
    for (var kk = 0; kk < ${BK}; kk++) {
      let a = ta[kk * ${BM / 4} + ty];
      let b = tb[kk * ${BN / 4} + tx];
${fmaLines}    }
    workgroupBarrier();
  }
${store}}
`;
  const gx = Math.ceil(g.cols / BN);
  if (gx > maxWg || mpad / BM > maxWg || g.Gz > maxWg) {
    throw new RangeError(
      `conv: problem too large for one dispatch (${gx} x ${mpad / BM} x ${g.Gz} workgroups)`,
    );
  }
  return {
    prep: prepKernel(g, t, mpad, maxWg),
    wtLength: g.Gz * g.KD * mpad,
    main: { code, dispatch: [gx, mpad / BM, g.Gz] },
    extraSlots: st.extraSlots,
  };
}

/** Renders the kernels of a convolution (float32 or int32). */
export function renderConv(
  g: ConvGeometry,
  dtype: DType,
  tuning: ConvTuning,
  ep?: EpilogueSpec,
): ConvKernels {
  return tuning.variant === "shared"
    ? sharedKernel(g, dtype, ep, tuning.maxWorkgroupsPerDim)
    : registerKernel(g, dtype, ep, tuning);
}

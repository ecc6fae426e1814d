/**
 * WGSL convolution as an implicit GEMM per group, out[z][m][col] = Σ_k W[z][k][m] · X[z][k][col]
 * (k = tap × channel; X never materialized): geometry, weight rearrangement, split-K, stores, and
 * the generic kernels `register` (software adapters) and `shared` (real GPUs, 64×64 tiles in
 * workgroup memory). conv_variants.ts picks the kernel for each convolution.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { ConvParams } from "../../lib/ops/conv_params.ts";
import { sizeOf, stridesOf } from "../../lib/shape.ts";
import { flatMain, wgslType } from "./expr.ts";
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
export function decompose(flat: string, dims: number[], p: string): string {
  // a zero extent means the loop around never runs; WGSL rejects a division by literal 0
  if (dims.includes(0)) return dims.map((_, d) => `let ${p}${d} = 0; `).join("");
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
  /** Weight rearrangement: binds (rhs, wt); absent when `main` reads rhs itself (as wt). */
  prep?: ConvDispatch;
  /** Elements of the rearranged weights (0 without `prep`). */
  wtLength: number;
  /** The convolution: binds (lhs, wt, epilogue inputs..., out). */
  main: ConvDispatch;
  /**
   * Epilogue input slots, bound after (lhs, wt) in `main`, or after (partials) in `reduce`
   * when the reduction is split.
   */
  extraSlots: number[];
  /** Split-K: the kernel summing the partials (binds partials, epilogue inputs..., out). */
  reduce?: ConvDispatch;
  /** Split-K: elements of the partials buffer (`main` then binds lhs, wt, partials). */
  partLength?: number;
  /**
   * Uniform weights: `main` is dispatched `count` times, binding `wt` (as a uniform buffer)
   * at elements [d * stride, (d + 1) * stride) for dispatch d.
   */
  mainRanges?: { count: number; stride: number };
}

/** Tuning of the register variant. */
export interface ConvTuning {
  variant: "register" | "shared";
  maxWorkgroupsPerDim: number;
  /**
   * The device's `maxComputeWorkgroupStorageSize` in bytes (default 16384, WebGPU's minimum):
   * the shared variant applies only where its tiles fit (else the register family renders).
   */
  maxWorkgroupStorage?: number;
  /** Register variant: output features per invocation (1, 2, 4, 8, 16 or 32; default by size). */
  tm?: number;
  /** Register variant: output positions per invocation (default by size). */
  tn?: number;
  /** Register variant: an invocation's positions are adjacent (else strided by the workgroup). */
  contiguous?: boolean;
  /** Split-K count override (default: split when fewer than `targetGroups` workgroups). */
  split?: number;
  /** Workgroups wanted in flight (default 32 for register, 256 for shared). */
  targetGroups?: number;
  /** Register variant: invocations per workgroup (default 64). */
  wg?: number;
  /** Register variant: use the row-vector form (conv_rows.ts) where it applies (default true). */
  rows?: boolean;
  /** Register variant: use the tap-vector form (conv_taps.ts) where it applies (default true). */
  taps?: boolean;
  /** The adapter is a software one: the sliding-window form (conv_1d.ts) may apply. */
  software?: boolean;
  /** Row form: largest uniform binding in bytes; weights go to uniform ranges when they fit. */
  maxUniformBytes?: number;
  /** Row form: the device's uniform offset alignment in bytes (default 256). */
  uniformAlign?: number;
}

function prepKernel(g: ConvGeometry, t: string, mpad: number, maxWg: number): ConvDispatch {
  const total = g.Gz * g.KD * mpad;
  const { dispatch, head } = flatMain(total, maxWg);
  const woff = g.wS.map((s, d) => `t${d} * ${s}`).join(" + ") || "0";
  const code = `@group(0) @binding(0) var<storage, read> w: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${head}
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

/**
 * Register tile and workgroup: TM features × TN positions per invocation, WG invocations. Up to
 * 32 × 8 with 64 lanes (measured best on llvmpipe, about 12 GFLOP/s on two cores); few features
 * get TM 1 or 2 (scalar weights); few positions get a narrower workgroup sized to them (split-K
 * then supplies the parallelism); small problems get small tiles (much faster shader compiles).
 */
function registerTiles(g: ConvGeometry, tuning: ConvTuning): [number, number, number] {
  let tm = g.Mz <= 1 ? 1 : g.Mz <= 2 ? 2 : g.Mz <= 4 ? 4 : g.Mz <= 8 ? 8 : g.Mz <= 16 ? 16 : 32;
  let wg = 64;
  let tn = g.cols <= 64 ? 1 : g.cols <= 256 ? 2 : g.cols <= 2048 ? 4 : 8;
  if (g.KD >= 4096 && g.cols < 64 * 8) {
    // long reductions over few positions: fit the lanes to the positions, minimal padding
    let best = Infinity;
    for (const n of [12, 8, 16, 6, 4, 2, 1]) {
      const w = Math.min(64, Math.ceil(Math.ceil(g.cols / n) / 8) * 8);
      const waste = (Math.ceil(g.cols / (w * n)) * w * n) / g.cols;
      if (waste < best - 0.1) [best, tn, wg] = [waste, n, w];
    }
  } else {
    const groups = () => Math.ceil(g.cols / (wg * tn)) * Math.ceil(g.Mz / tm) * g.Gz;
    while (groups() < 16 && g.KD < 4096 && (tn > 1 || tm > 4)) {
      if (tn > 1) tn /= 2;
      else tm /= 2;
    }
  }
  return [tuning.tm ?? tm, tuning.tn ?? tn, tuning.wg ?? wg];
}

/**
 * Number of K splits: a long reduction over few outputs (weight gradients) is cut into slices
 * that run in parallel and are summed by a second kernel.
 */
export function splitCount(
  groups: number,
  kLen: number,
  minSlice: number,
  tuning: ConvTuning,
): number {
  if (tuning.split !== undefined) return Math.max(1, Math.min(tuning.split, kLen));
  const target = tuning.targetGroups ?? 32;
  if (groups >= target || kLen < 2 * minSlice) return 1;
  return Math.max(1, Math.min(Math.ceil(target / groups), Math.floor(kLen / minSlice), 256));
}

/**
 * The split of a kernel's reduction over `nTaps` taps × `g.I` input features: over taps when
 * there are at least as many taps as features (slices of at least `minTaps`), else over features
 * (slices of at least `minFeatures`). Returns the slice count `S` and the WGSL bounds of slice
 * `s`: `[tapLo, tapHi, iLo, iHi]`.
 */
export function splitK(
  g: ConvGeometry,
  groups: number,
  nTaps: number,
  minTaps: number,
  minFeatures: number,
  tuning: ConvTuning,
): { S: number; bounds: [string, string, string, string] } {
  const byTaps = nTaps >= g.I;
  const S = splitCount(groups, byTaps ? nTaps : g.I, byTaps ? minTaps : minFeatures, tuning);
  const per = Math.ceil((byTaps ? nTaps : g.I) / S);
  const bounds: [string, string, string, string] = S === 1
    ? ["0", `${nTaps}`, "0", `${g.I}`]
    : byTaps
    ? [`s * ${per}`, `min(s * ${per} + ${per}, ${nTaps})`, "0", `${g.I}`]
    : ["0", `${nTaps}`, `s * ${per}`, `min(s * ${per} + ${per}, ${g.I})`];
  return { S, bounds };
}

/** The kernel summing split-K partials [z·S + s][m][col] into the output (with the epilogue). */
export function splitReduce(
  g: ConvGeometry,
  t: string,
  S: number,
  ep: EpilogueSpec | undefined,
  maxWg: number,
): ConvDispatch {
  const st = storeCode(t === "f32" ? "float32" : "int32", 1, ep);
  const total = g.Gz * g.Mz * g.cols;
  const { dispatch, head } = flatMain(total, maxWg, "e");
  const code = `@group(0) @binding(0) var<storage, read> part: array<${t}>;
${st.decls}${st.fns}
${head}
  let col = e % ${g.cols}; let zm = e / ${g.cols}; let z = zm / ${g.Mz};
  var acc = ${t}(0);
  for (var s = 0; s < ${S}; s++) { acc = acc + part[((z * ${S} + s) * ${g.Mz} + zm % ${g.Mz}) * ${g.cols} + col]; }
${columnSetup(g, "s", "col", "  ")}  store_out(obs + zm * ${g.oC}, acc);
}
`;
  return { code, dispatch };
}

/** Store code of a main kernel: the output (with epilogue), or split-K partials. */
export function mainStore(g: ConvGeometry, dtype: DType, S: number, ep: EpilogueSpec | undefined) {
  if (S === 1) {
    return {
      ...storeCode(dtype, 2, ep),
      target: (ob: string, m: string) => `store_out(${ob} + (z * ${g.Mz} + ${m}) * ${g.oC}`,
    };
  }
  const t = wgslType(dtype);
  return {
    decls: `@group(0) @binding(2) var<storage, read_write> part: array<${t}>;\n`,
    fns: `fn store_part(o: i32, v: ${t}) { part[o] = v; }\n`,
    extraSlots: [] as number[],
    target: (_ob: string, m: string, col: string) =>
      `store_part((zz * ${g.Mz} + ${m}) * ${g.cols} + ${col}`,
  };
}

/** The generic register-blocked kernel (software adapters; any convolution). */
export function registerKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const t = wgslType(dtype);
  const [TM, TN, WG] = registerTiles(g, tuning);
  const mpad = Math.ceil(g.Mz / TM) * TM;
  // weights as vec4 rows when TM >= 4, else scalars
  const vw = TM >= 4 ? 4 : 1, nv = TM / vw, wT = vw === 4 ? `vec4<${t}>` : t;
  const gx = Math.ceil(g.cols / (WG * TN)), gy = mpad / TM;
  // split over taps when there are many, else over input features
  const { S, bounds: [tapLo, tapHi, iLo, iHi] } = splitK(g, gx * gy * g.Gz, g.nT, 8, 64, tuning);
  const st = mainStore(g, dtype, S, ep);
  const contiguous = tuning.contiguous ?? true;
  const colOf = (j: number) => (contiguous ? `cb + ${j}` : `cb + ${j * WG}`);
  let setup = "";
  for (let j = 0; j < TN; j++) setup += columnSetup(g, `${j}`, colOf(j), "  ");
  for (let j = 0; j < TN; j++) {
    for (let v = 0; v < nv; v++) setup += `  var a${j}_${v} = ${wT}();\n`;
  }
  let offs = "";
  for (let j = 0; j < TN; j++) offs += tapOffsets(g, `${j}`, "    ");
  let inner = "";
  for (let v = 0; v < nv; v++) inner += `      let w${v} = wt[wr + ${v}];\n`;
  for (let j = 0; j < TN; j++) {
    inner += `      let b${j} = select(${t}(0), x[of${j} + xo], ok${j});\n`;
  }
  for (let j = 0; j < TN; j++) {
    for (let v = 0; v < nv; v++) {
      const b = vw === 4 ? `${wT}(b${j})` : `b${j}`;
      inner += t === "f32"
        ? `      a${j}_${v} = fma(w${v}, ${b}, a${j}_${v});\n`
        : `      a${j}_${v} = a${j}_${v} + w${v} * ${b};\n`;
    }
  }
  let store = "";
  for (let j = 0; j < TN; j++) {
    store += `  if (${colOf(j)} < ${g.cols}) {\n`;
    for (let r = 0; r < TM; r++) {
      const acc = vw === 4 ? `a${j}_${r >> 2}[${r & 3}]` : `a${j}_${r}`;
      store += `    if (m0 + ${r} < ${g.Mz}) { ${
        st.target(`ob${j}`, `m0 + ${r}`, colOf(j))
      }, ${acc}); }\n`;
    }
    store += "  }\n";
  }
  const rowLen = mpad / vw;
  const code = `@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> wt: array<${wT}>;
${st.decls}${st.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let zz = i32(wid.z);
  let z = zz / ${S}; let s = zz % ${S};
  let m0 = i32(wid.y) * ${TM};
  let cb = i32(wid.x) * ${WG * TN} + i32(lid)${contiguous ? ` * ${TN}` : ""};
${setup}  for (var tap = ${tapLo}; tap < ${tapHi}; tap++) {
    ${decompose("tap", g.K, "t")}
${offs}    let wk = (z * ${g.KD} + tap * ${g.I}) * ${rowLen} + m0 / ${vw};
    for (var i = ${iLo}; i < ${iHi}; i++) {
      let wr = wk + i * ${rowLen};
      let xo = i * ${g.xC};
${inner}    }
  }
${store}}
`;
  return finish(g, t, mpad, S, [gx, gy, g.Gz * S], code, st.extraSlots, ep, maxWg);
}

/** Assembles a variant's kernels: weight prep, main, and the split-K reduce when S > 1. */
export function finish(
  g: ConvGeometry,
  t: string,
  mpad: number,
  S: number,
  dispatch: [number, number, number],
  code: string,
  extraSlots: number[],
  ep: EpilogueSpec | undefined,
  maxWg: number,
): ConvKernels {
  if (dispatch.some((d) => d > maxWg)) {
    throw new RangeError(
      `conv: problem too large for one dispatch (${dispatch.join(" x ")} workgroups)`,
    );
  }
  const k: ConvKernels = {
    prep: prepKernel(g, t, mpad, maxWg),
    wtLength: g.Gz * g.KD * mpad,
    main: { code, dispatch: g.cols * g.Mz * g.Gz === 0 ? [0, 0, 0] : dispatch },
    extraSlots,
  };
  if (S > 1) {
    const r = splitReduce(g, t, S, ep, maxWg);
    k.reduce = r;
    k.partLength = S * g.Gz * g.Mz * g.cols;
    k.extraSlots = storeCode(t === "f32" ? "float32" : "int32", 1, ep).extraSlots;
  }
  return k;
}

/** Workgroup memory of the shared kernel: a 16×64 tile of each operand in 4-byte words. */
export const SHARED_TILE_BYTES = 2 * 16 * 64 * 4;

/** Whether the shared kernel's tiles fit the device's workgroup storage. */
export function sharedFits(tuning: ConvTuning): boolean {
  return SHARED_TILE_BYTES <= (tuning.maxWorkgroupStorage ?? 16384);
}

/** The shared-memory tiled kernel (real GPUs). */
export function sharedKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const t = wgslType(dtype);
  const BM = 64, BN = 64, BK = 16;
  const mpad = Math.ceil(g.Mz / BM) * BM;
  const gx = Math.ceil(g.cols / BN), gy = mpad / BM;
  const S = splitCount(gx * gy * g.Gz, Math.ceil(g.KD / BK), 16, {
    ...tuning,
    targetGroups: tuning.targetGroups ?? 256,
  });
  const per = Math.ceil(Math.ceil(g.KD / BK) / S) * BK;
  const st = mainStore(g, dtype, S, ep);
  const last = Math.max(g.KD - 1, 0);
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
    store += `  { let col = cn0 + tx * 4 + ${c};\n    if (col < ${g.cols}) {\n${
      columnSetup(g, "s", "col", "      ")
    }`;
    for (let r = 0; r < 4; r++) {
      store += `      if (m0 + ty * 4 + ${r} < ${g.Mz}) { ${
        st.target("obs", `m0 + ty * 4 + ${r}`, "col")
      }, acc${r}[${c}]); }\n`;
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
  let zz = i32(wid.z);
  let z = zz / ${S}; let s = zz % ${S};
  let m0 = i32(wid.y) * ${BM};
  let cn0 = i32(wid.x) * ${BN};
  let tx = lid % 16; let ty = lid / 16;
  let lk = lid / 16; let lc = lid % 16;
${colSetup}  var acc0 = vec4<${t}>(); var acc1 = vec4<${t}>(); var acc2 = vec4<${t}>(); var acc3 = vec4<${t}>();
  let kEnd = min(s * ${per} + ${per}, ${g.KD});
  for (var k0 = s * ${per}; k0 < kEnd; k0 += ${BK}) {
    let ka = k0 + lk;
    let kin = ka < kEnd;
    let kc = min(ka, ${last});
    ta[lid] = select(vec4<${t}>(), wt[(z * ${g.KD} + kc) * ${mpad / 4} + m0 / 4 + lc], kin);
    let tap = kc / ${g.I}; let xo = (kc % ${g.I}) * ${g.xC};
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
  return finish(g, t, mpad, S, [gx, gy, g.Gz * S], code, st.extraSlots, ep, maxWg);
}

/**
 * WGSL `dotGeneral`: a batched GEMM out[b][m][n] = Σ_k L[b, m, k] · R[b, k, n] over any
 * batch/contract/free axes of any strides (multi-axis groups are decomposed in the shader).
 * Register-blocked: each invocation accumulates TM rows (shared by the workgroup, so their loads
 * are uniform) × TN columns (spread over the lanes); the larger free side runs along the lanes.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { DotParams } from "../../lib/ops/dot.ts";
import { sizeOf, stridesOf } from "../../lib/shape.ts";
import { flatMain, wgslType } from "./expr.ts";
import { type EpilogueSpec, storeCode } from "./epilogue.ts";
import { ENABLE_F16, fromStorage, storageType } from "./f16.ts";

/** The kernel of one dotGeneral and how to dispatch it. */
export interface DotKernel {
  code: string;
  dispatch: [number, number, number];
  /** Epilogue input slots bound after (lhs, rhs). */
  extraSlots: number[];
}

/** An offset expression: Σ (digit of `v` over `dims`) · strides. */
function offsetExpr(v: string, dims: number[], strides: number[]): string {
  if (dims.length === 0 || dims.includes(0)) return "0"; // no element: no division by 0 either
  const terms: string[] = [];
  let div = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    if (dims[d] !== 1) {
      const q = div === 1 ? v : `(${v} / ${div})`;
      const digit = d === 0 ? q : `(${q} % ${dims[d]})`;
      terms.push(`${digit} * ${strides[d]}`);
    }
    div *= dims[d];
  }
  return terms.length ? terms.join(" + ") : "0";
}

function free(ndim: number, p: DotParams, side: 0 | 1): number[] {
  return [...Array(ndim).keys()].filter((i) =>
    !p.contract[side].includes(i) && !p.batch[side].includes(i)
  );
}

/**
 * Renders a dotGeneral (float32, int32, float16: f16 storage with `f16`, accumulated in f32)
 * with an optional fused epilogue.
 */
export function renderDot(
  lShape: number[],
  rShape: number[],
  p: DotParams,
  dtype: DType,
  maxWg: number,
  ep?: EpilogueSpec,
  f16 = false,
): DotKernel {
  const t = wgslType(dtype);
  const f16s = f16 && (dtype === "float16" || ep?.kernel.inputs.includes("float16") ||
    ep?.kernel.outDtype === "float16");
  const sl = stridesOf(lShape), sr = stridesOf(rShape);
  const lf = free(lShape.length, p, 0), rf = free(rShape.length, p, 1);
  const sizes = (sh: number[], ax: number[]) => ax.map((a) => sh[a]);
  const st = (s: number[], ax: number[]) => ax.map((a) => s[a]);
  const Bs = sizes(lShape, p.batch[0]),
    Ms = sizes(lShape, lf),
    Ns = sizes(rShape, rf),
    Ks = sizes(lShape, p.contract[0]);
  const nB = sizeOf(Bs), M = sizeOf(Ms), N = sizeOf(Ns), K = sizeOf(Ks);
  const side = {
    l: {
      b: offsetExpr("z", Bs, st(sl, p.batch[0])),
      f: (v: string) => offsetExpr(v, Ms, st(sl, lf)),
      k: offsetExpr("k", Ks, st(sl, p.contract[0])),
    },
    r: {
      b: offsetExpr("z", Bs, st(sr, p.batch[1])),
      f: (v: string) => offsetExpr(v, Ns, st(sr, rf)),
      k: offsetExpr("k", Ks, st(sr, p.contract[1])),
    },
  };
  // rows: uniform per workgroup; columns: along lanes
  const swap = M > N;
  const R = swap ? N : M, C = swap ? M : N;
  const rowSide = swap ? side.r : side.l, colSide = swap ? side.l : side.r;
  const rowBuf = swap ? "rb" : "lb", colBuf = swap ? "lb" : "rb";
  const WG = 64;
  const TM = R >= 8 ? 8 : R >= 4 ? 4 : R >= 2 ? 2 : 1;
  const TN = C >= WG * 4 ? 4 : 1;
  const s = storeCode(dtype, 2, ep, f16);
  let setup = "";
  for (let r = 0; r < TM; r++) {
    setup += `  let ro${r} = zr + ${rowSide.f(`min(r0 + ${r}, ${Math.max(R - 1, 0)})`)};\n`;
  }
  for (let j = 0; j < TN; j++) {
    setup += `  let co${j} = zc + ${colSide.f(`min(cb + ${j * WG}, ${Math.max(C - 1, 0)})`)};\n`;
  }
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < TN; j++) setup += `  var a${r}_${j} = ${t}(0);\n`;
  }
  let inner = `    let kr = ${rowSide.k};\n    let kc = ${colSide.k};\n`;
  const ld = (v: string) => fromStorage(dtype, f16, v);
  for (let r = 0; r < TM; r++) inner += `    let u${r} = ${ld(`${rowBuf}[ro${r} + kr]`)};\n`;
  for (let j = 0; j < TN; j++) inner += `    let v${j} = ${ld(`${colBuf}[co${j} + kc]`)};\n`;
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < TN; j++) {
      inner += t === "f32"
        ? `    a${r}_${j} = fma(u${r}, v${j}, a${r}_${j});\n`
        : `    a${r}_${j} = a${r}_${j} + u${r} * v${j};\n`;
    }
  }
  let store = "";
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < TN; j++) {
      const row = `r0 + ${r}`, col = `cb + ${j * WG}`;
      const [m, n] = swap ? [col, row] : [row, col];
      store +=
        `  if (${row} < ${R} && ${col} < ${C}) { store_out((z * ${M} + ${m}) * ${N} + ${n}, a${r}_${j}); }\n`;
    }
  }
  const gx = Math.ceil(C / (WG * TN)), gy = Math.ceil(R / TM);
  if (gx > maxWg || gy > maxWg || nB > maxWg) {
    throw new RangeError(
      `dotGeneral: problem too large for one dispatch (${gx} x ${gy} x ${nB} workgroups)`,
    );
  }
  const lrType = storageType(dtype, f16);
  const code = `${
    f16s ? ENABLE_F16 : ""
  }@group(0) @binding(0) var<storage, read> lb: array<${lrType}>;
@group(0) @binding(1) var<storage, read> rb: array<${lrType}>;
${s.decls}${s.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let z = i32(wid.z);
  let r0 = i32(wid.y) * ${TM};
  let cb = i32(wid.x) * ${WG * TN} + i32(lid);
  let zr = ${rowSide.b};
  let zc = ${colSide.b};
${setup}  for (var k = 0; k < ${K}; k++) {
${inner}  }
${store}}
`;
  return { code, dispatch: nB * M * N === 0 ? [0, 0, 0] : [gx, gy, nB], extraSlots: s.extraSlots };
}

/** Renders argmax/argmin over `axis` (first index of the extremum; NaN counts as extreme). */
export function renderArgReduce(
  shape: number[],
  axis: number,
  dtype: DType,
  isMax: boolean,
  maxWg: number,
): { code: string; dispatch: [number, number, number] } {
  const t = wgslType(dtype);
  const n = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const total = sizeOf(shape) / Math.max(n, 1);
  const { dispatch, head } = flatMain(total, maxWg);
  const nanTest = t === "f32" ? "(bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u" : "false";
  const bestNan = t === "f32" ? "(bitcast<u32>(best) & 0x7fffffffu) > 0x7f800000u" : "false";
  const code = `@group(0) @binding(0) var<storage, read> in0: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
${head}
  let base = (o / ${inner}) * ${n * inner} + o % ${inner};
  var best = in0[base];
  var bi = 0;
  for (var i = 1; i < ${n}; i++) {
    if (${bestNan}) { break; }
    let v = in0[base + i * ${inner}];
    if (${nanTest} || v ${isMax ? ">" : "<"} best) { best = v; bi = i; }
  }
  out[o] = bi;
}
`;
  return { code, dispatch: total === 0 ? [0, 0, 0] : dispatch };
}

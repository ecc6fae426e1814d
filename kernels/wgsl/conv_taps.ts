/**
 * The tap-vector form of the register convolution kernel for a long kernel and a short output
 * row (weight gradients) on software adapters: four taps read as one vec4 from the kernel, dot
 * products with vec4 input windows; see `tapsKernel`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { wgslType } from "./expr.ts";
import { type EpilogueSpec, storeCode } from "./epilogue.ts";
import {
  type ConvGeometry,
  type ConvKernels,
  type ConvTuning,
  decompose,
  mainStore,
  splitK,
  splitReduce,
} from "./conv.ts";

/** True when the tap-vector kernel applies (see `tapsKernel`). */
export function tapsApplicable(g: ConvGeometry, dtype: DType): boolean {
  const L = g.nd - 1;
  if (dtype !== "float32" || g.nd < 1 || g.cols === 0 || g.KD === 0) return false;
  const four = (xs: number[]) => xs.every((s) => s % 4 === 0);
  return g.K[L] % 4 === 0 && g.K[L] >= 8 && g.Y[L] <= 8 && g.rdil[L] === 1 && g.ldil[L] === 1 &&
    g.xS[L] === 1 && g.wS[L] === 1 && g.X[L] % 4 === 0 && four([g.xN, g.xC, ...g.xS.slice(0, L)]) &&
    four([g.wO, g.wI, ...g.wS.slice(0, L)]) && g.KD >= 1024;
}

/** The sizes the parts of the tap-vector kernel share. */
interface Taps {
  t: string;
  L: number;
  YL: number;
  TM: number;
  /** Rows of YL positions per invocation, TN = R · YL positions. */
  R: number;
  TN: number;
  WG: number;
  blocks: number;
  /** Window alignment, first element and vec4 count. */
  sal: number;
  s0: number;
  nC: number;
}

/** Block setup: per row r its batch, output coordinates, input and output offsets; accumulators. */
function tapsSetup(g: ConvGeometry, k: Taps): string {
  const batch = (n: string) => (g.B > 1 ? `(z * ${g.outN} + ${n})` : n);
  const chan = g.G > 1 ? ` + z * ${g.I * g.xC}` : "";
  let setup = `  let blk = min(i32(wid.x) * ${k.WG} + i32(lid), ${k.blocks - 1});\n`;
  for (let r = 0; r < k.R; r++) {
    setup += `  let cc${r} = min(blk * ${k.TN} + ${r * k.YL}, ${g.cols - k.YL});
  let n${r} = cc${r} / ${g.nY}; let yy${r} = cc${r} % ${g.nY};
  ${decompose(`yy${r}`, g.Y, `y${r}_`)}
  let xb${r} = ${batch(`n${r}`)} * ${g.xN}${chan};
  let ob${r} = n${r} * ${g.oN}${g.oS.map((s, d) => ` + y${r}_${d} * ${s}`).join("")};\n`;
  }
  for (let j = 0; j < k.TN; j++) {
    for (let m = 0; m < k.TM; m++) setup += `  var a${j}_${m} = ${k.t}(0);\n`;
  }
  return setup;
}

/** Per outer tap `to`: each row's input offset `xr<r>` and bounds test, the weight base `wb`. */
function tapsTapRow(g: ConvGeometry, k: Taps): string {
  let outer = `    ${decompose("to", g.K.slice(0, k.L), "t")}\n`;
  for (let r = 0; r < k.R; r++) {
    const conds: string[] = [], terms: string[] = [`xb${r}`];
    for (let d = 0; d < k.L; d++) {
      const p = `p${r}_${d}`;
      outer += `    let ${p} = y${r}_${d} * ${g.stride[d]} - ${g.lo[d]} + t${d} * ${g.rdil[d]};\n`;
      if (g.ldil[d] === 1) {
        conds.push(`${p} >= 0`, `${p} < ${g.X[d]}`);
        terms.push(`${p} * ${g.xS[d]}`);
      } else {
        conds.push(`${p} >= 0`, `${p} % ${g.ldil[d]} == 0`, `${p} / ${g.ldil[d]} < ${g.X[d]}`);
        terms.push(`(${p} / ${g.ldil[d]}) * ${g.xS[d]}`);
      }
    }
    outer += `    let okr${r} = ${conds.join(" && ") || "true"};\n`;
    outer += `    let xr${r} = ${terms.join(" + ")};\n`;
  }
  const wTap = g.wS.slice(0, k.L).map((s, d) => ` + t${d} * ${s}`).join("");
  return outer + `    let wb = z * ${g.Mz * g.wO}${wTap};\n`;
}

/** Per four inner taps tl: the rows' vec4 windows, their b vectors, TM × TN dot products. */
function tapsStep(g: ConvGeometry, k: Taps): string {
  const { t, R, YL, TM, TN } = k;
  let inner = `        let xs = tl - ${k.sal};\n`;
  for (let c = 0; c < k.nC; c++) {
    inner += `        let okc${c} = xs + ${4 * c} >= 0 && xs + ${4 * c} < ${g.X[k.L]};\n`;
    for (let r = 0; r < R; r++) {
      const ok = `okr${r} && okc${c}`;
      inner +=
        `        let xv${r}_${c} = select(vec4<${t}>(), x[select(0, (xr${r} + xo + xs) / 4 + ${c}, ${ok})], ${ok});\n`;
    }
  }
  // b vectors: four consecutive window elements starting at e (static)
  const comp = (r: number, e: number) => `xv${r}_${e >> 2}[${e & 3}]`;
  for (let r = 0; r < R; r++) {
    for (let kx = 0; kx < YL; kx++) {
      const e = k.s0 + kx * g.stride[k.L];
      const parts = [0, 1, 2, 3].map((u) => comp(r, e + u));
      inner += `        let b${r * YL + kx} = vec4<${t}>(${parts.join(", ")});\n`;
    }
  }
  for (let m = 0; m < TM; m++) {
    inner += `        let w${m} = w[(wk + tl + min(m0 + ${m}, ${g.Mz - 1}) * ${g.wO}) / 4];\n`;
    for (let j = 0; j < TN; j++) inner += `        a${j}_${m} = a${j}_${m} + dot(w${m}, b${j});\n`;
  }
  return inner;
}

/** Stores the TN × TM accumulators (through the epilogue, if any). */
function tapsStore(g: ConvGeometry, k: Taps, st: ReturnType<typeof mainStore>): string {
  let store = `  if (i32(wid.x) * ${k.WG} + i32(lid) < ${k.blocks}) {\n`;
  for (let r = 0; r < k.R; r++) {
    for (let kx = 0; kx < k.YL; kx++) {
      const j = r * k.YL + kx;
      store += `  if (blk * ${k.TN} + ${j} < ${g.cols}) {\n`;
      for (let m = 0; m < k.TM; m++) {
        store += `    if (m0 + ${m} < ${g.Mz}) { ${
          st.target(`ob${r} + ${kx * g.oS[k.L]}`, `m0 + ${m}`, `blk * ${k.TN} + ${j}`)
        }, a${j}_${m}); }\n`;
      }
      store += "  }\n";
    }
  }
  return store + "  }\n";
}

/**
 * Renders the tap-vector kernel (call only where `tapsApplicable`).
 *
 * The tap-vector form of the register convolution kernel, for convolutions with a long kernel
 * and a short output row (weight gradients: the "kernel" is the output gradient, the output the
 * small filter), on software adapters where every storage load is a per-lane loop. Each
 * invocation owns R whole output rows (last spatial axis, length YL) × TM features. Taps along
 * the last axis are taken four at a time: the kernel values of four taps are one aligned vec4
 * read straight from the kernel (no rearranging pass), and each row's input segment that the
 * four taps need for all YL positions is a few aligned vec4s; every (feature, position) then
 * accumulates a dot product of two vec4s. Applies when the last axis of kernel and input is
 * contiguous with no dilation, the kernel's last extent and the input's row are multiples of 4,
 * and rows start 4-aligned.
 */
export function tapsKernel(
  g: ConvGeometry,
  dtype: DType,
  ep: EpilogueSpec | undefined,
  tuning: ConvTuning,
): ConvKernels {
  const maxWg = tuning.maxWorkgroupsPerDim;
  const t = wgslType(dtype);
  const L = g.nd - 1;
  const YL = g.Y[L], KL = g.K[L], lo = g.lo[L], sL = g.stride[L];
  const nTo = g.nT / KL;
  const TM = tuning.tm ?? (g.Mz <= 4 ? 4 : g.Mz <= 8 ? 8 : g.Mz <= 16 ? 16 : 32);
  const R = Math.max(1, Math.floor((tuning.tn ?? 12) / YL)), TN = R * YL;
  const blocks = Math.ceil(g.cols / TN);
  const WG = tuning.wg ?? Math.min(64, Math.ceil(blocks / 8) * 8);
  const gx = Math.ceil(blocks / WG), gy = Math.ceil(g.Mz / TM);
  const { S, bounds: [tapLo, tapHi, iLo, iHi] } = splitK(g, gx * gy * g.Gz, nTo, 2, 4, tuning);
  const st = mainStore(g, dtype, S, ep);
  // window element e is input position tl - sal + e; position kx, tap tl + u reads s0 + kx*sL + u
  const sal = 4 * Math.ceil(lo / 4), s0 = sal - lo;
  const nC = Math.floor((s0 + (YL - 1) * sL + 3) / 4) + 1;
  const k: Taps = { t, L, YL, TM, R, TN, WG, blocks, sal, s0, nC };
  const code = `@group(0) @binding(0) var<storage, read> x: array<vec4<${t}>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<${t}>>;
${st.decls}${st.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let zz = i32(wid.z);
  let z = zz / ${S}; let s = zz % ${S};
  let m0 = i32(wid.y) * ${TM};
${tapsSetup(g, k)}  for (var to = ${tapLo}; to < ${tapHi}; to++) {
${tapsTapRow(g, k)}    for (var i = ${iLo}; i < ${iHi}; i++) {
      let xo = i * ${g.xC};
      let wk = wb + i * ${g.wI};
      for (var tl = 0; tl < ${KL}; tl += 4) {
${tapsStep(g, k)}      }
    }
  }
${tapsStore(g, k, st)}}
`;
  const dispatch: [number, number, number] = [gx, gy, g.Gz * S];
  if (dispatch.some((d) => d > maxWg)) {
    throw new RangeError(`conv: problem too large for one dispatch (${dispatch.join(" x ")})`);
  }
  // no weight prep: `main` binds the kernel itself
  const kk: ConvKernels = { main: { code, dispatch }, wtLength: 0, extraSlots: st.extraSlots };
  if (S > 1) {
    kk.reduce = splitReduce(g, dtype, S, ep, maxWg);
    kk.partLength = S * g.Gz * g.Mz * g.cols;
    kk.extraSlots = storeCode("float32", 1, ep).extraSlots;
  }
  return kk;
}

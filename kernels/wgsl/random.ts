/**
 * WGSL `random`: Threefry-2x32-20 bit streams laid out exactly as lib/prng.ts (JAX's original
 * 32-bit scheme), and float32 uniform / normal draws from them (normal: Giles' float32 erfinv).
 * Bits and keys are bit-identical to the host; float draws agree to float32 rounding.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { RandomParams } from "../../lib/ops/random.ts";
import { sizeOf } from "../../lib/shape.ts";
import { GILES_HI, GILES_LO } from "../../lib/prng.ts";
import { f32Lit, spread } from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** The largest float32 below `x` (x finite and nonzero). */
function nextDownF32(x: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  const b = v.getUint32(0);
  v.setUint32(0, x > 0 ? b - 1 : b + 1);
  return v.getFloat32(0);
}

const THREEFRY = (() => {
  const g1 = [13, 15, 26, 6], g2 = [17, 29, 16, 24];
  const rounds = (rs: number[]) =>
    rs.map((r) => `a = a + b; b = ((b << ${r}u) | (b >> ${32 - r}u)) ^ a;`).join(" ");
  return `fn threefry(k0: u32, k1: u32, k2: u32, c0: u32, c1: u32) -> vec2<u32> {
  var a = c0 + k0; var b = c1 + k1;
  ${rounds(g1)} a = a + k1; b = b + k2 + 1u;
  ${rounds(g2)} a = a + k2; b = b + k0 + 2u;
  ${rounds(g1)} a = a + k0; b = b + k1 + 3u;
  ${rounds(g2)} a = a + k1; b = b + k2 + 4u;
  ${rounds(g1)}
  return vec2<u32>(a + k2, b + k0 + 5u);
}
`;
})();

function poly(c: readonly number[]): string {
  let s = f32Lit(c[0]);
  for (let i = 1; i < c.length; i++) s = `(${f32Lit(c[i])} + ${s} * w)`;
  return s;
}

/** Renders a random draw: binds (key: int32[2], out). */
export function renderRandom(
  p: RandomParams,
  outDtype: DType,
  maxWg: number,
): { code: string; dispatch: [number, number, number] } {
  const n = sizeOf(p.shape);
  const h = Math.ceil(n / 2);
  const dispatch = spread(Math.ceil(h / 64), maxWg);
  const isFloat = p.dist === "uniform" || p.dist === "normal";
  // float16 / bfloat16 draws are float32 draws rounded by the plan's narrowing pass
  if (isFloat && outDtype !== "float32" && outDtype !== "float16" && outDtype !== "bfloat16") {
    throw new TypeError(`random: dtype ${outDtype} draws are not supported on WebGPU`);
  }
  let conv = "fn conv(w: u32) -> i32 { return bitcast<i32>(w); }\n";
  let helpers = "";
  if (isFloat) {
    const [low, high] = p.dist === "normal" ? [-0.9999999403953552, 1] : [p.low ?? 0, p.high ?? 1];
    const lo = Math.fround(low), hi = Math.fround(high), range = Math.fround(hi - lo);
    const uni = `fn uni(w: u32) -> f32 {
  var r = f32(w >> 9u) * 1.1920928955078125e-7f * ${f32Lit(range)} + ${f32Lit(lo)};
  if (r >= ${f32Lit(hi)}) { r = ${f32Lit(nextDownF32(hi))}; }
  return select(r, ${f32Lit(lo)}, r < ${f32Lit(lo)});
}
`;
    if (p.dist === "uniform") conv = `${uni}fn conv(w: u32) -> f32 { return uni(w); }\n`;
    else {
      helpers = helperSource(["tg_log1p"]);
      conv = `${uni}fn erfinv32(x: f32) -> f32 {
  let a = abs(x);
  if (a == 1.0) { return x * tg_inf(); }
  let x2 = x * x;
  let wv = select(-tg_log1p(-x2), x2, x2 < 1.862645149230957e-9f);
  var p: f32;
  if (wv < 5.0) { let w = wv - 2.5; p = ${poly(GILES_LO)}; }
  else { let w = sqrt(wv) - 3.0; p = ${poly(GILES_HI)}; }
  return x * p;
}
fn conv(w: u32) -> f32 { return ${f32Lit(Math.SQRT2)} * erfinv32(uni(w)); }
`;
    }
  }
  const outT = isFloat ? "f32" : "i32";
  const code = `@group(0) @binding(0) var<storage, read> key: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${outT}>;
${helpers}${THREEFRY}${conv}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * ${dispatch[0]}u + wid.x) * 64u + lid;
  if (i >= ${h}u) { return; }
  let k0 = bitcast<u32>(key[0]); let k1 = bitcast<u32>(key[1]);
  let k2 = 0x1bd11bdau ^ k0 ^ k1;
${
    p.dist === "foldIn"
      ? `  let y = threefry(k0, k1, k2, 0u, ${p.data ?? 0}u);
  out[0] = conv(y.x);
  out[1] = conv(y.y);
}
`
      : `  let j = ${h}u + i;
  let y = threefry(k0, k1, k2, i, select(0u, j, j < ${n}u));
  out[i] = conv(y.x);
  if (j < ${n}u) { out[j] = conv(y.y); }
}
`
  }`;
  return { code, dispatch: n === 0 ? [0, 0, 0] : dispatch };
}

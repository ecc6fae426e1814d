/**
 * A whole FFT of a short line in one dispatch: one workgroup per line holds it in workgroup
 * memory and runs every Stockham pass there (registers, barrier, write back, barrier), so the
 * line is read and written once instead of once per pass. Used for lengths up to `SHARED_MAX`.
 * @module
 */
import { f32Lit, spread } from "./expr.ts";
import { radixBody } from "./fft_shaders.ts";

/** Longest line a workgroup transforms in its memory (8 bytes per complex value). */
export const SHARED_MAX = 1024;
const WG = 64;

/** One pass of the line's plan and where its twiddles / roots start in `tw`. */
export interface SharedPass {
  ip: number;
  l1: number;
  ido: number;
  tw: number;
  roots: number;
}

/**
 * The kernel transforming `lines` lines of `n` complex values `stride` apart (as `passKernel`
 * lays them out) from src to dst, times `scale`.
 */
export function sharedKernel(
  passes: SharedPass[],
  n: number,
  lines: number,
  stride: number,
  inverse: boolean,
  scale: number,
  maxWg: number,
): { code: string; dispatch: [number, number, number] } {
  const S = stride, W = Math.min(WG, n);
  const dispatch = spread(lines, maxWg);
  const blocks = passes.map(({ ip, l1, ido, tw, roots }) => {
    const nb = n / ip, per = Math.ceil(nb / W);
    const body = radixBody(
      ip,
      ido,
      tw,
      roots,
      inverse,
      (j) => `sh[i + ${ido} * (${j} + ${ip} * k)]`,
      (m, v) => `r[u * ${ip} + ${m}] = ${v};`,
    );
    return `  {
    var r: array<vec2<f32>, ${per * ip}>;
    for (var u = 0; u < ${per}; u++) {
      let bi = t + u * ${W};
      if (bi < ${nb}) {
        let i = bi % ${ido}; let k = bi / ${ido};
        ${body}
      }
    }
    workgroupBarrier();
    for (var u = 0; u < ${per}; u++) {
      let bi = t + u * ${W};
      if (bi < ${nb}) {
        let i = bi % ${ido}; let k = bi / ${ido};
        for (var m = 0; m < ${ip}; m++) { sh[i + ${ido} * (k + ${l1} * m)] = r[u * ${ip} + m]; }
      }
    }
    workgroupBarrier();
  }`;
  });
  const sc = scale === 1 ? "" : ` * ${f32Lit(scale)}`;
  const code = `@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> tw: array<vec2<f32>>;
var<workgroup> sh: array<vec2<f32>, ${n}>;
fn cm(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
fn mi(a: vec2<f32>) -> vec2<f32> { return vec2<f32>(-a.y, a.x); }
fn conj2(a: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x, -a.y); }
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = &tw;
  let line = i32(wid.y * ${dispatch[0]}u + wid.x);
  if (line >= ${lines}) { return; }
  let t = i32(lid);
  let base = (line / ${S}) * ${n * S} + line % ${S};
  for (var j = t; j < ${n}; j += ${W}) { sh[j] = src[base + j * ${S}]; }
  workgroupBarrier();
${blocks.join("\n")}
  for (var j = t; j < ${n}; j += ${W}) { dst[base + j * ${S}] = sh[j]${sc}; }
}
`;
  return { code, dispatch };
}

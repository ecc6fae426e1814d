/**
 * WGSL sources of the FFT (kernels/wgsl/fft.ts plans them): one Stockham pass of radix 2, 3, 4,
 * 5 or a generic odd radix over strided lines, and the elementwise stages around the passes
 * (Bluestein's chirps, real-transform packing, crops, scales). Complex values are `vec2<f32>`.
 * @module
 */
import { f32Lit, flatMain } from "./expr.ts";

const V = "vec2<f32>";
const CMUL =
  `fn cm(a: ${V}, b: ${V}) -> ${V} { return ${V}(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
fn mi(a: ${V}) -> ${V} { return ${V}(-a.y, a.x); }
`;

/** A storage binding of complex (`c`) or real (`r`) values. */
function decl(slot: number, name: string, type: "c" | "r", write: boolean): string {
  const mode = write ? "read_write" : "read";
  return `@group(0) @binding(${slot}) var<storage, ${mode}> ${name}: array<${
    type === "c" ? V : "f32"
  }>;`;
}

/** A flat kernel over `total` elements: bindings, then the body after the `o` index. */
function flat(total: number, maxWg: number, decls: string[], body: string): {
  code: string;
  dispatch: [number, number, number];
} {
  const m = flatMain(total, maxWg);
  return { code: `${decls.join("\n")}\n${CMUL}${m.head}\n${body}\n}\n`, dispatch: m.dispatch };
}

/** One Stockham pass: lines of `n` complex values `s` apart (line starts: (line · n) · s + j). */
export interface PassSpec {
  /** Radix of the pass, its l1 (product of the earlier radices) and ido (n / (l1 · radix)). */
  p: number;
  l1: number;
  ido: number;
  n: number;
  /** Number of lines (outer count × stride) and the stride between a line's elements. */
  lines: number;
  stride: number;
  inverse: boolean;
  /** Offsets (complex elements) of the pass's twiddles and, for a generic radix, its roots. */
  tw: number;
  roots: number;
  /** Factor applied to every output (1: none). */
  scale: number;
}

/** A 4-point DFT of `${u}0..3` into `${v}0..3` (forward: v1 = t1 - i t3; the inverse swaps). */
function dft4(u: string, v: string, inverse: boolean): string {
  const [a, b] = inverse ? ["+", "-"] : ["-", "+"];
  return `let ${v}t0 = ${u}0 + ${u}2; let ${v}t1 = ${u}0 - ${u}2; let ${v}t2 = ${u}1 + ${u}3;
  let ${v}t3 = mi(${u}1 - ${u}3);
  let ${v}0 = ${v}t0 + ${v}t2; let ${v}2 = ${v}t0 - ${v}t2; let ${v}1 = ${v}t1 ${a} ${v}t3;
  let ${v}3 = ${v}t1 ${b} ${v}t3;`;
}

/** `y_m` of the radix-2/3/4/5/8 butterflies as WGSL `let` statements over `x0..x{p-1}`. */
function butterfly(p: number, inverse: boolean): string {
  const s = inverse ? -1 : 1;
  if (p === 2) return "let y0 = x0 + x1; let y1 = x0 - x1;";
  if (p === 4) return dft4("x", "y", inverse);
  if (p === 8) {
    // radix-2 split (x_j ± x_{j+4}), the odd half times w8^j, then two 4-point DFTs
    const c = f32Lit(Math.SQRT1_2), sg = s > 0 ? "-" : "";
    return `let a0 = x0 + x4; let a1 = x1 + x5; let a2 = x2 + x6; let a3 = x3 + x7;
  let b0 = x0 - x4; let d1 = x1 - x5; let d2 = x2 - x6; let d3 = x3 - x7;
  let b1 = ${c} * (d1 + ${sg}mi(d1)); let b2 = ${sg}mi(d2); let b3 = ${c} * (${sg}mi(d3) - d3);
  ${dft4("a", "e", inverse)}
  ${dft4("b", "g", inverse)}
  let y0 = e0; let y2 = e1; let y4 = e2; let y6 = e3; let y1 = g0; let y3 = g1; let y5 = g2; let y7 = g3;`;
  }
  if (p === 3) {
    const sn = f32Lit(-s * Math.sqrt(3) / 2);
    return `let pp = x1 + x2; let mm = mi(x1 - x2); let bb = x0 - 0.5f * pp;
  let y0 = x0 + pp; let y1 = bb + ${sn} * mm; let y2 = bb - ${sn} * mm;`;
  }
  const c1 = f32Lit(Math.cos(2 * Math.PI / 5)), c2 = f32Lit(Math.cos(4 * Math.PI / 5));
  const s1 = f32Lit(-s * Math.sin(2 * Math.PI / 5)), s2 = f32Lit(-s * Math.sin(4 * Math.PI / 5));
  return `let p1 = x1 + x4; let m1 = mi(x1 - x4); let p2 = x2 + x3; let m2 = mi(x2 - x3);
  let aa = x0 + ${c1} * p1 + ${c2} * p2; let bb = x0 + ${c2} * p1 + ${c1} * p2;
  let uu = ${s1} * m1 + ${s2} * m2; let vv = ${s2} * m1 - ${s1} * m2;
  let y0 = x0 + p1 + p2; let y1 = aa + uu; let y2 = bb + vv; let y3 = bb - vv; let y4 = aa - uu;`;
}

/** A twiddle factor load (conjugated for the inverse). */
const twLoad = (idx: string, inverse: boolean) => inverse ? `conj2(tw[${idx}])` : `tw[${idx}]`;

/**
 * Statements computing one radix-`p` butterfly with `i` (index within ido) defined: `load(j)`
 * gives input j, `store(m, v)` a statement storing output m (twiddled; both get WGSL index
 * expressions). `tw` / `roots`: offsets of the pass's twiddles and (generic radix) roots.
 */
export function radixBody(
  p: number,
  ido: number,
  tw: number,
  roots: number,
  inverse: boolean,
  load: (j: string) => string,
  store: (m: string, v: string) => string,
): string {
  // outputs m ≥ 1 are multiplied by the twiddle (m - 1) · ido + i, except at i = 0 (where it is 1)
  if (p <= 5 || p === 8) {
    const st = (m: number, y: string) => {
      if (m === 0 || ido === 1) return store(String(m), y);
      const w = twLoad(`${tw + (m - 1) * ido} + i`, inverse);
      return store(String(m), `select(cm(${y}, ${w}), ${y}, i == 0)`);
    };
    const loads = [...Array(p).keys()].map((j) => `let x${j} = ${load(String(j))};`);
    const stores = [...Array(p).keys()].map((m) => st(m, `y${m}`));
    return `${loads.join(" ")}\n  ${butterfly(p, inverse)}\n  ${stores.join("\n  ")}`;
  }
  const twiddle = ido === 1 ? "" : `
    if (m > 0 && i > 0) { y = cm(y, ${twLoad(`${tw - ido} + m * ${ido} + i`, inverse)}); }`;
  return `var xs: array<${V}, ${p}>;
  for (var j = 0; j < ${p}; j++) { xs[j] = ${load("j")}; }
  for (var m = 0; m < ${p}; m++) {
    var y = ${V}(0.0f, 0.0f);
    var jm = 0;
    for (var j = 0; j < ${p}; j++) {
      y = y + cm(xs[j], ${twLoad(`${roots} + jm`, inverse)});
      jm = jm + m;
      if (jm >= ${p}) { jm = jm - ${p}; }
    }${twiddle}
    ${store("m", "y")}
  }`;
}

/** The WGSL of one Stockham pass: src → dst (both complex), twiddles in `tw`. */
export function passKernel(q: PassSpec, maxWg: number): {
  code: string;
  dispatch: [number, number, number];
} {
  const { p, l1, ido, n, stride: S, inverse } = q;
  const total = q.lines * l1 * ido;
  const sc = q.scale === 1 ? "" : ` * ${f32Lit(q.scale)}`;
  const at = (c: string) => (S === 1 ? c : `(${c}) * ${S}`);
  const head = `  let s = ${S === 1 ? "0" : `o % ${S}`}; let q = ${S === 1 ? "o" : `o / ${S}`};
  let i = q % ${ido}; let k = (q / ${ido}) % ${l1};
  let b = (q / ${ido * l1}) * ${n * S} + s;
  let ib = b + ${at(`i + ${ido * p} * k`)}; let ob = b + ${at(`i + ${ido} * k`)};`;
  const outStride = ido * l1 * S;
  const body = `${head}\n  ${
    radixBody(
      p,
      ido,
      q.tw,
      q.roots,
      inverse,
      (j) => `src[ib + ${j} * ${ido * S}]`,
      (m, v) => `dst[ob + ${m} * ${outStride}] = ${v}${sc};`,
    )
  }`;
  const decls = [decl(0, "src", "c", false), decl(1, "dst", "c", true), decl(2, "tw", "c", false)];
  const conj = "fn conj2(a: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x, -a.y); }";
  return flat(total, maxWg, [...decls, conj], `  _ = &tw;\n${body}`);
}

/** Shader sources of the elementwise FFT stages, keyed by stage. */
type Rendered = { code: string; dispatch: [number, number, number] };

const CONJ = "fn conj2(a: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x, -a.y); }";

/** dst[o] = src[o] · scale over `total` complex values. */
export function scaleKernel(total: number, scale: number, maxWg: number): Rendered {
  const d = [decl(0, "src", "c", false), decl(1, "dst", "c", true)];
  return flat(total, maxWg, d, `  dst[o] = src[o] * ${f32Lit(scale)};`);
}

/**
 * Bluestein's first stage: lines (of n, stride s) times the chirp, zero-padded to m, into
 * contiguous rows of m.
 */
export function chirpIn(
  lines: number,
  n: number,
  S: number,
  m: number,
  inverse: boolean,
  maxWg: number,
): Rendered {
  const d = [
    decl(0, "src", "c", false),
    decl(1, "dst", "c", true),
    decl(2, "chirp", "c", false),
    CONJ,
  ];
  const w = inverse ? "conj2(chirp[k])" : "chirp[k]";
  return flat(
    lines * m,
    maxWg,
    d,
    `  let l = o / ${m}; let k = o % ${m};
  if (k >= ${n}) { dst[o] = ${V}(0.0f, 0.0f); return; }
  dst[o] = cm(src[((l / ${S}) * ${n} + k) * ${S} + l % ${S}], ${w});`,
  );
}

/** Bluestein's middle stage, in place: times the transformed conjugate chirp (`bhat`). */
export function chirpMul(lines: number, m: number, inverse: boolean, maxWg: number): Rendered {
  const d = [decl(0, "buf", "c", true), decl(1, "bhat", "c", false), CONJ];
  // the inverse multiplies by FFT(chirp) = the conjugate of bhat, reversed
  const b = inverse ? `conj2(bhat[(${m} - o % ${m}) % ${m}])` : `bhat[o % ${m}]`;
  return flat(lines * m, maxWg, d, `  buf[o] = cm(buf[o], ${b});`);
}

/** Bluestein's last stage: rows of m back to lines of n (stride s), times the chirp and scale. */
export function chirpOut(
  lines: number,
  n: number,
  S: number,
  m: number,
  inverse: boolean,
  scale: number,
  maxWg: number,
): Rendered {
  const d = [
    decl(0, "src", "c", false),
    decl(1, "dst", "c", true),
    decl(2, "chirp", "c", false),
    CONJ,
  ];
  const w = inverse ? "conj2(chirp[k])" : "chirp[k]";
  return flat(
    lines * n,
    maxWg,
    d,
    `  let s = o % ${S}; let k = (o / ${S}) % ${n}; let l = (o / ${S * n}) * ${S} + s;
  dst[o] = cm(src[l * ${m} + k] * ${f32Lit(scale / m)}, ${w});`,
  );
}

/**
 * RFFT of even n from the half-length transform Z (rows of h = n/2): X_k = E_k + w^k O_k with
 * E, O the spectra of the even and odd samples; DC and Nyquist exactly (real).
 */
export function rfftPost(rows: number, n: number, maxWg: number): Rendered {
  const h = n / 2, m = h + 1;
  const d = [decl(0, "src", "c", false), decl(1, "dst", "c", true), decl(2, "tw", "c", false)];
  return flat(
    rows * m,
    maxWg,
    d,
    `  let r = o / ${m}; let k = o % ${m};
  let z0 = src[r * ${h}];
  if (k == 0) { dst[o] = ${V}(z0.x + z0.y, 0.0f); return; }
  if (k == ${h}) { dst[o] = ${V}(z0.x - z0.y, 0.0f); return; }
  let z = src[r * ${h} + k]; let c = src[r * ${h} + ${h} - k];
  let e = 0.5f * ${V}(z.x + c.x, z.y - c.y); let df = ${V}(z.x - c.x, z.y + c.y);
  let od = ${V}(0.5f * df.y, -0.5f * df.x);
  dst[o] = e + cm(tw[k], od);`,
  );
}

/**
 * IRFFT of even n, before the half-length inverse transform: Z_k = E_k + i O_k from the half
 * spectrum X (rows of n/2 + 1; the imaginary parts of DC and Nyquist are ignored).
 */
export function irfftPre(rows: number, n: number, maxWg: number): Rendered {
  const h = n / 2, m = h + 1;
  const d = [
    decl(0, "src", "c", false),
    decl(1, "dst", "c", true),
    decl(2, "tw", "c", false),
    CONJ,
  ];
  return flat(
    rows * h,
    maxWg,
    d,
    `  let r = o / ${h}; let k = o % ${h};
  var a = src[r * ${m} + k]; var bq = src[r * ${m} + ${h} - k];
  if (k == 0) { a.y = 0.0f; bq.y = 0.0f; }
  let b = conj2(bq);
  let od = cm(a - b, conj2(tw[k]));
  dst[o] = a + b + mi(od);`,
  );
}

/** Real rows → complex rows with zero imaginary parts. */
export function realToComplex(total: number, maxWg: number): Rendered {
  const d = [decl(0, "src", "r", false), decl(1, "dst", "c", true)];
  return flat(total, maxWg, d, `  dst[o] = ${V}(src[o], 0.0f);`);
}

/** The first `m` of each row of `n` complex values. */
export function cropRows(rows: number, n: number, m: number, maxWg: number): Rendered {
  const d = [decl(0, "src", "c", false), decl(1, "dst", "c", true)];
  return flat(rows * m, maxWg, d, `  dst[o] = src[(o / ${m}) * ${n} + o % ${m}];`);
}

/**
 * The full spectrum (rows of n) of a real signal from its half spectrum (rows of n/2 + 1), the
 * imaginary parts of DC and (even n) Nyquist ignored.
 */
export function hermitianRows(rows: number, n: number, maxWg: number): Rendered {
  const m = (n >> 1) + 1, even = n % 2 === 0;
  const d = [decl(0, "src", "c", false), decl(1, "dst", "c", true), CONJ];
  return flat(
    rows * n,
    maxWg,
    d,
    `  let r = o / ${n}; let k = o % ${n};
  let kk = select(${n} - k, k, k < ${m});
  var x = src[r * ${m} + kk];
  if (kk == 0${even ? ` || kk == ${n / 2}` : ""}) { x.y = 0.0f; }
  dst[o] = select(conj2(x), x, k < ${m});`,
  );
}

/** Real parts of complex values, times `scale`. */
export function realPart(total: number, scale: number, maxWg: number): Rendered {
  const d = [decl(0, "src", "c", false), decl(1, "dst", "r", true)];
  return flat(total, maxWg, d, `  dst[o] = src[o].x * ${f32Lit(scale)};`);
}

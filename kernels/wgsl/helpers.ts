/**
 * WGSL helper functions for scalar semantics that the builtins do not give exactly: NaN tests on
 * bit patterns (safe under finite-math assumptions), NaN-propagating max/min, JS-style float→int
 * conversion, float16 rounding, guarded log/sqrt/exp, accurate log1p/expm1/tanh, logistic, and JS Math.pow.
 * @module
 */

/**
 * Helper functions a shader may call, keyed by the WGSL function they define (`tg_nan` defines
 * the NaN/infinity tests); `ExprRenderer.helpers` lists the ones used. NaN tests use the bit
 * pattern, so they survive compilers that assume finite math.
 */
const HELPERS: Record<string, WgslHelper> = {
  tg_nan: {
    deps: [],
    src:
      "var<private> tg_nan_bits: u32 = 0x7fc00000u;\nvar<private> tg_inf_bits: u32 = 0x7f800000u;\n" +
      "fn tg_nan() -> f32 { return bitcast<f32>(tg_nan_bits); }\n" +
      "fn tg_inf() -> f32 { return bitcast<f32>(tg_inf_bits); }\n" +
      "fn tg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }\n" +
      "fn tg_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }\n",
  },
  tg_max: {
    deps: ["tg_nan"],
    src:
      "fn tg_max(a: f32, b: f32) -> f32 { return select(max(a, b), tg_nan(), tg_isnan(a) || tg_isnan(b)); }\n",
  },
  tg_min: {
    deps: ["tg_nan"],
    src:
      "fn tg_min(a: f32, b: f32) -> f32 { return select(min(a, b), tg_nan(), tg_isnan(a) || tg_isnan(b)); }\n",
  },
  tg_f2i: {
    deps: ["tg_nan"],
    src: "fn tg_f2i(x: f32) -> i32 {\n" +
      "  if (!tg_isfinite(x)) { return 0; }\n" +
      "  let t = trunc(x);\n" +
      "  if (abs(t) < 2147483648.0) { return i32(t); }\n" +
      "  let m = t - floor(t / 4294967296.0) * 4294967296.0;\n" +
      "  return bitcast<i32>(u32(m));\n}\n",
  },
  tg_f2u8: {
    deps: ["tg_f2i"],
    src: "fn tg_f2u8(x: f32) -> u32 { return bitcast<u32>(tg_f2i(x)) & 255u; }\n",
  },
  tg_log: {
    deps: ["tg_nan"],
    src: "fn tg_log(x: f32) -> f32 { return select(log(x), tg_nan(), x < 0.0 || tg_isnan(x)); }\n",
  },
  tg_sqrt: {
    deps: ["tg_nan"],
    src:
      "fn tg_sqrt(x: f32) -> f32 { return select(sqrt(x), tg_nan(), x < 0.0 || tg_isnan(x)); }\n",
  },
  tg_exp: {
    deps: ["tg_nan"],
    src: "fn tg_exp(x: f32) -> f32 {\n" +
      "  if (tg_isnan(x)) { return x; }\n" +
      "  if (x > 88.8) { return tg_inf(); }\n" +
      "  if (x < -104.0) { return 0.0; }\n" +
      "  return exp(x);\n}\n",
  },
  tg_log1p: {
    deps: ["tg_log"],
    src: "fn tg_log1p(x: f32) -> f32 {\n" +
      "  let u = 1.0 + x;\n" +
      "  if (u == 1.0) { return x; }\n" +
      "  if (!(abs(x) < 1e30)) { return tg_log(u); }\n" +
      "  return tg_log(u) * (x / (u - 1.0));\n}\n",
  },
  tg_expm1: {
    deps: ["tg_exp"],
    src: "fn tg_expm1(x: f32) -> f32 {\n" +
      "  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }\n" +
      "  if (!(abs(x) < 0.5)) { return tg_exp(x) - 1.0; }\n" +
      "  let u = exp(x);\n" +
      "  return (u - 1.0) * (x / log(u));\n}\n",
  },
  tg_tanh: {
    deps: ["tg_expm1"],
    src: "fn tg_tanh(x: f32) -> f32 {\n" +
      "  if (tg_isnan(x)) { return x; }\n" +
      "  let a = min(abs(x), 20.0);\n" +
      "  let e = tg_expm1(2.0 * a);\n" +
      "  let t = e / (e + 2.0);\n" +
      "  return select(t, -t, x < 0.0);\n}\n",
  },
  tg_logistic: {
    deps: ["tg_exp"],
    src: "fn tg_logistic(x: f32) -> f32 {\n" +
      "  if (x >= 0.0) { return 1.0 / (1.0 + tg_exp(-x)); }\n" +
      "  let e = tg_exp(x);\n" +
      "  return e / (1.0 + e);\n}\n",
  },
  tg_pow: {
    deps: ["tg_nan"],
    src: "fn tg_pow(x: f32, y: f32) -> f32 {\n" +
      "  if (y == 0.0) { return 1.0; }\n" +
      "  if (tg_isnan(x) || tg_isnan(y)) { return tg_nan(); }\n" +
      "  let ax = abs(x);\n" +
      "  let ay = abs(y);\n" +
      "  if (!tg_isfinite(y)) {\n" +
      "    if (ax == 1.0) { return tg_nan(); }\n" +
      "    return select(0.0, tg_inf(), (ax > 1.0) == (y > 0.0));\n  }\n" +
      "  let isInt = floor(y) == y;\n" +
      "  let odd = isInt && ay < 16777216.0 && (y - 2.0 * floor(y * 0.5)) == 1.0;\n" +
      "  let neg = x < 0.0 || (x == 0.0 && (bitcast<u32>(x) & 0x80000000u) != 0u);\n" +
      "  if (x < 0.0 && !isInt) { return tg_nan(); }\n" +
      "  var r: f32;\n" +
      "  if (ax == 0.0) { r = select(tg_inf(), 0.0, y > 0.0); }\n" +
      "  else if (!tg_isfinite(ax)) { r = select(0.0, tg_inf(), y > 0.0); }\n" +
      "  else { r = exp2(y * log2(ax)); }\n" +
      "  return select(r, -r, neg && odd);\n}\n",
  },
  tg_f16r: {
    // float16 rounding of an f32 (ties to even, ±Infinity from 65520 on; NaN stays NaN), exact:
    // a power-of-two scaling puts the float16 ulp at 1, round(), and the scaling back
    deps: ["tg_nan"],
    src: "fn tg_f16r(x: f32) -> f32 {\n" +
      "  if (!(abs(x) < 65520.0)) { return select(select(tg_inf(), -tg_inf(), x < 0.0), x, tg_isnan(x)); }\n" +
      "  let k = max(i32((bitcast<u32>(x) >> 23u) & 0xffu) - 127, -14) - 10;\n" +
      "  return ldexp(round(ldexp(x, -k)), k);\n}\n",
  },
  tg_bf16r: {
    // bfloat16 rounding of an f32 on its bits (ties to even, overflow to ±Infinity; NaN stays NaN)
    deps: [],
    src: "fn tg_bf16r(x: f32) -> f32 {\n" +
      "  let u = bitcast<u32>(x);\n" +
      "  if ((u & 0x7fffffffu) > 0x7f800000u) { return x; }\n" +
      "  return bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);\n}\n",
  },
  tg_f2u: {
    deps: ["tg_f2i"],
    src: "fn tg_f2u(x: f32) -> u32 { return bitcast<u32>(tg_f2i(x)); }\n",
  },
  tg_sign: {
    deps: [],
    src: "fn tg_sign(x: f32) -> f32 { return select(select(x, -1.0, x < 0.0), 1.0, x > 0.0); }\n",
  },
};

/** A WGSL helper function: its source and the helpers it calls. */
export interface WgslHelper {
  /** Helpers called by `src`. */
  deps: string[];
  /** WGSL source of the function. */
  src: string;
}

/**
 * Adds a helper an op's template brings along (lib/ops/_render.ts `helperCall`); a name is
 * defined once, and a second definition must be the same.
 */
export function defineHelper(name: string, h: WgslHelper): void {
  const old = HELPERS[name];
  if (old && old.src !== h.src) throw new TypeError(`webgpu: helper ${name} defined twice`);
  HELPERS[name] = h;
}

/** WGSL source of the named helpers and their dependencies, each once, dependencies first. */
export function helperSource(names: Iterable<string>): string {
  const done = new Set<string>();
  let out = "";
  const add = (n: string) => {
    if (done.has(n)) return;
    done.add(n);
    for (const d of HELPERS[n].deps) add(d);
    out += HELPERS[n].src;
  };
  for (const n of names) add(n);
  return out;
}

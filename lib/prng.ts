// Counter-based random numbers: Threefry-2x32-20 with JAX-style keys, bit streams, uniform and
// normal sampling; layouts follow JAX's original (non-"partitionable") Threefry scheme. Pure TS on
// typed arrays using only + - * / sqrt and exact bit operations: identical results on every runtime.

const TWO_32 = 4294967296;
const UINT32_MAX = 0xffffffff;

/** Output words of the last {@link block} call (avoids allocating per block). */
let y0 = 0, y1 = 0;

/** One Threefry-2x32-20 block on counters (c0, c1) with key (k0, k1) and parity word k2. */
function block(k0: number, k1: number, k2: number, c0: number, c1: number): void {
  let a = (c0 + k0) | 0;
  let b = (c1 + k1) | 0;
  // Rounds 1-4 use rotations 13, 15, 26, 6; rounds 5-8 use 17, 29, 16, 24; repeat.
  a = (a + b) | 0;
  b = ((b << 13) | (b >>> 19)) ^ a;
  a = (a + b) | 0;
  b = ((b << 15) | (b >>> 17)) ^ a;
  a = (a + b) | 0;
  b = ((b << 26) | (b >>> 6)) ^ a;
  a = (a + b) | 0;
  b = ((b << 6) | (b >>> 26)) ^ a;
  a = (a + k1) | 0;
  b = (b + k2 + 1) | 0;
  a = (a + b) | 0;
  b = ((b << 17) | (b >>> 15)) ^ a;
  a = (a + b) | 0;
  b = ((b << 29) | (b >>> 3)) ^ a;
  a = (a + b) | 0;
  b = ((b << 16) | (b >>> 16)) ^ a;
  a = (a + b) | 0;
  b = ((b << 24) | (b >>> 8)) ^ a;
  a = (a + k2) | 0;
  b = (b + k0 + 2) | 0;
  a = (a + b) | 0;
  b = ((b << 13) | (b >>> 19)) ^ a;
  a = (a + b) | 0;
  b = ((b << 15) | (b >>> 17)) ^ a;
  a = (a + b) | 0;
  b = ((b << 26) | (b >>> 6)) ^ a;
  a = (a + b) | 0;
  b = ((b << 6) | (b >>> 26)) ^ a;
  a = (a + k0) | 0;
  b = (b + k1 + 3) | 0;
  a = (a + b) | 0;
  b = ((b << 17) | (b >>> 15)) ^ a;
  a = (a + b) | 0;
  b = ((b << 29) | (b >>> 3)) ^ a;
  a = (a + b) | 0;
  b = ((b << 16) | (b >>> 16)) ^ a;
  a = (a + b) | 0;
  b = ((b << 24) | (b >>> 8)) ^ a;
  a = (a + k1) | 0;
  b = (b + k2 + 4) | 0;
  a = (a + b) | 0;
  b = ((b << 13) | (b >>> 19)) ^ a;
  a = (a + b) | 0;
  b = ((b << 15) | (b >>> 17)) ^ a;
  a = (a + b) | 0;
  b = ((b << 26) | (b >>> 6)) ^ a;
  a = (a + b) | 0;
  b = ((b << 6) | (b >>> 26)) ^ a;
  y0 = (a + k2) >>> 0;
  y1 = (b + k0 + 5) >>> 0;
}

function checkKey(op: string, key: Uint32Array): void {
  if (!(key instanceof Uint32Array) || key.length !== 2) {
    const what = key instanceof Uint32Array
      ? `length ${key.length}`
      : (key as object)?.constructor?.name ?? typeof key;
    throw new TypeError(`${op}: key must be a Uint32Array of length 2, got ${what}`);
  }
}

/**
 * Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11), applied elementwise to the counter pairs `(x0[i], x1[i])`.
 *
 * @example
 * ```ts
 * const [a, b] = threefry2x32(new Uint32Array([0, 0]), new Uint32Array([0]), new Uint32Array([0]));
 * // a[0] === 0x6b200159, b[0] === 0x99ba4efe
 * ```
 */
export function threefry2x32(
  key: Uint32Array,
  x0: Uint32Array,
  x1: Uint32Array,
): [Uint32Array, Uint32Array] {
  checkKey("threefry2x32", key);
  if (x0.length !== x1.length) {
    throw new TypeError(
      `threefry2x32: counters x0 and x1 differ in length (${x0.length} and ${x1.length})`,
    );
  }
  const k0 = key[0] | 0, k1 = key[1] | 0, k2 = (0x1bd11bda ^ k0 ^ k1) | 0;
  const o0 = new Uint32Array(x0.length), o1 = new Uint32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    block(k0, k1, k2, x0[i] | 0, x1[i] | 0);
    o0[i] = y0, o1[i] = y1;
  }
  return [o0, o1];
}

/**
 * Makes a key (2 uint32 words `[hi, lo]`) from an integer seed, like `jax.random.key`
 * with 64-bit seeds: `hi = floor(seed / 2^32) mod 2^32` (two's complement for negative
 * seeds) and `lo = seed mod 2^32`, so seeds in [0, 2^32) give `[0, seed]`.
 *
 * @example
 * ```ts
 * keyFromSeed(42); // Uint32Array [0, 42]
 * keyFromSeed(-1); // Uint32Array [0xffffffff, 0xffffffff]
 * ```
 */
export function keyFromSeed(seed: number): Uint32Array {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`keyFromSeed: seed must be a safe integer, got ${seed}`);
  }
  const hi = Math.floor(seed / TWO_32);
  return new Uint32Array([hi >>> 0, seed - hi * TWO_32]);
}

/**
 * Derives `n` new keys from `key`, following JAX's original `threefry_split`: the
 * result is `randomBits(key, 2n)`, i.e. Threefry over counters `x0 = [0..n-1]`,
 * `x1 = [n..2n-1]`, output words `[...y0, ...y1]`, and key `i` is words `2i, 2i+1`
 * (`keys.subarray(2 * i, 2 * i + 2)`).
 *
 * @example
 * ```ts
 * const keys = splitKey(keyFromSeed(0), 2);
 * // [4146024105, 967050713, 2718843009, 1272950319], as jax.random.split(key(0))
 * const [key, sub] = [keys.subarray(0, 2), keys.subarray(2, 4)];
 * ```
 */
export function splitKey(key: Uint32Array, n = 2): Uint32Array {
  checkKey("splitKey", key);
  if (!Number.isInteger(n) || n < 0 || 2 * n > UINT32_MAX) {
    throw new RangeError(`splitKey: n must be an integer in [0, 2^31), got ${n}`);
  }
  return randomBits(key, 2 * n);
}

/**
 * Mixes the integer `data` into `key`, like `jax.random.fold_in`: `data` is reduced
 * to uint32 `d = data mod 2^32` and the new key is Threefry of counter pair `(0, d)`.
 *
 * @example
 * ```ts
 * const stepKey = foldIn(keyFromSeed(0), 7);
 * ```
 */
export function foldIn(key: Uint32Array, data: number): Uint32Array {
  checkKey("foldIn", key);
  if (!Number.isSafeInteger(data)) {
    throw new RangeError(`foldIn: data must be a safe integer, got ${data}`);
  }
  const k0 = key[0] | 0, k1 = key[1] | 0;
  block(k0, k1, (0x1bd11bda ^ k0 ^ k1) | 0, 0, (data - Math.floor(data / TWO_32) * TWO_32) | 0);
  return new Uint32Array([y0, y1]);
}

/**
 * Returns `count` random uint32 words, laid out as JAX's original 32-bit
 * `_threefry_random_bits`: with `h = ceil(count / 2)`, counters `x0[i] = i` and
 * `x1[i] = h + i` (or 0 for the padding pair when `count` is odd), `i < h`;
 * the output is `[...y0, ...y1]` truncated to `count` words.
 *
 * @example
 * ```ts
 * randomBits(keyFromSeed(0), 4); // [4146024105, 967050713, 2718843009, 1272950319]
 * ```
 */
export function randomBits(key: Uint32Array, count: number): Uint32Array {
  checkKey("randomBits", key);
  if (!Number.isInteger(count) || count < 0 || count > UINT32_MAX) {
    throw new RangeError(`randomBits: count must be an integer in [0, 2^32), got ${count}`);
  }
  const k0 = key[0] | 0, k1 = key[1] | 0, k2 = (0x1bd11bda ^ k0 ^ k1) | 0;
  const h = Math.ceil(count / 2), out = new Uint32Array(count);
  for (let i = 0; i < h; i++) {
    const j = h + i;
    block(k0, k1, k2, i, j < count ? j : 0);
    out[i] = y0;
    if (j < count) out[j] = y1;
  }
  return out;
}

/** Scratch for exact float <-> bits conversions (big-endian access throughout). */
const SCRATCH = new DataView(new ArrayBuffer(8));

/** Largest value of the output's precision that is below `x` (finite, positive or negative). */
function nextDown(x: number, f32: boolean): number {
  if (!Number.isFinite(x) || x === 0) return x === 0 ? (f32 ? -1.401298464324817e-45 : -5e-324) : x;
  if (f32) {
    SCRATCH.setFloat32(0, x);
    SCRATCH.setUint32(0, x > 0 ? SCRATCH.getUint32(0) - 1 : SCRATCH.getUint32(0) + 1);
    return SCRATCH.getFloat32(0);
  }
  SCRATCH.setFloat64(0, x);
  const big = SCRATCH.getBigUint64(0);
  SCRATCH.setBigUint64(0, x > 0 ? big - 1n : big + 1n);
  return SCRATCH.getFloat64(0);
}

function checkBits(op: string, bits: Uint32Array, out: Float32Array | Float64Array): boolean {
  const wide = out instanceof Float64Array && bits.length === 2 * out.length && out.length > 0;
  if (!wide && bits.length !== out.length) {
    const need = out instanceof Float64Array
      ? `${out.length} or ${2 * out.length}`
      : `${out.length}`;
    throw new TypeError(`${op}: bits has length ${bits.length} but out needs ${need}`);
  }
  return wide;
}

/**
 * Fills `out` with uniform samples in [low, high) from random words, as `jax.random.uniform`:
 * `f = mantissa / 2^p` in [0, 1), result `max(low, f * (high - low) + low)`.
 * - Float32Array: one word each; `f = (w >>> 9) * 2^-23` (the float32 `1.m - 1` trick);
 *   `low`, `high` and all arithmetic are rounded to float32 like JAX.
 * - Float64Array with `bits.length === 2 * out.length`: JAX x64 layout, 52 bits from the
 *   64-bit word `(bits[i] << 32) | bits[n + i]`, i.e. `f = (hi * 2^20 + (lo >>> 12)) * 2^-52`.
 * - Float64Array with `bits.length === out.length`: the float32 23-bit `f`, float64 arithmetic.
 * Unlike JAX, a result that rounds up to `high` is replaced by the largest value below it.
 *
 * @example
 * ```ts
 * const u = uniformFromBits(randomBits(keyFromSeed(0), 3), new Float32Array(3));
 * ```
 */
export function uniformFromBits<T extends Float32Array | Float64Array>(
  bits: Uint32Array,
  out: T,
  low = 0,
  high = 1,
): T {
  const wide = checkBits("uniformFromBits", bits, out);
  const n = out.length;
  if (out instanceof Float32Array) {
    const fr = Math.fround,
      lo = fr(low),
      hi = fr(high),
      range = fr(hi - lo),
      top = nextDown(hi, true);
    for (let i = 0; i < n; i++) {
      let r = fr(fr((bits[i] >>> 9) * 1.1920928955078125e-7 * range) + lo);
      if (r >= hi) r = top;
      out[i] = r < lo ? lo : r;
    }
    return out;
  }
  const range = high - low, top = nextDown(high, false);
  for (let i = 0; i < n; i++) {
    const f = wide
      ? (bits[i] * 1048576 + (bits[n + i] >>> 12)) * 2.220446049250313e-16
      : (bits[i] >>> 9) * 1.1920928955078125e-7;
    let r = f * range + low;
    if (r >= high) r = top;
    out[i] = r < low ? low : r;
  }
  return out;
}

/**
 * Fills `out` with standard normal samples, as `jax.random.normal`: `u` uniform in
 * [nextafter(-1, 0), 1) via {@link uniformFromBits} (same bit layouts), then `sqrt(2) * erfinv(u)`.
 * Float32Array: XLA's float32 erfinv (Giles' polynomial in float32 arithmetic with
 * `w = -log1p(-u²)`) and a float32 product, to track JAX bit-for-bit. Float64Array: the
 * accurate {@link erfinv}.
 *
 * @example
 * ```ts
 * normalFromBits(randomBits(keyFromSeed(0), 1), new Float32Array(1)); // [-0.20584226]
 * ```
 */
export function normalFromBits<T extends Float32Array | Float64Array>(
  bits: Uint32Array,
  out: T,
): T {
  checkBits("normalFromBits", bits, out);
  if (out instanceof Float32Array) {
    uniformFromBits(bits, out, -0.9999999403953552, 1);
    const s2 = Math.fround(Math.SQRT2);
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(s2 * erfinvF32(out[i]));
  } else {
    uniformFromBits(bits, out, -0.9999999999999999, 1);
    for (let i = 0; i < out.length; i++) out[i] = Math.SQRT2 * erfinv(out[i]);
  }
  return out;
}

// ---- Deterministic elementary functions (only + - * / sqrt and exact bit ops) ----

const LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10; // LN2_HI has 32 bits: k * LN2_HI is exact
const TWO_OVER_SQRT_PI = 1.1283791670955126, ONE_OVER_SQRT_PI = 0.5641895835477563;
/** POW2[k + 1022] = 2^k for k in [-1022, 1023] (exact doublings). */
const POW2 = new Float64Array(2046);
POW2[1022] = 1;
for (let k = 1023; k < 2046; k++) POW2[k] = POW2[k - 1] * 2;
for (let k = 1021; k >= 0; k--) POW2[k] = POW2[k + 1] * 0.5;
/** ODD_RECIP[k] = 1 / (2k + 1); atanh(s)/s = Σ s^(2k) / (2k + 1). */
const ODD_RECIP = Array.from({ length: 64 }, (_, k) => 1 / (2 * k + 1));
/** Giles' single-precision erfinv coefficients (highest degree first), for w < 5. */
export const GILES_LO: readonly number[] = [
  2.81022636e-8,
  3.43273939e-7,
  -3.5233877e-6,
  -4.39150654e-6,
  0.00021858087,
  -0.00125372503,
  -0.00417768164,
  0.246640727,
  1.50140941,
];
/** Giles' coefficients for w >= 5. */
export const GILES_HI: readonly number[] = [
  -0.000200214257,
  0.000100950558,
  0.00134934322,
  -0.00367342844,
  0.00573950773,
  -0.0076224613,
  0.00943887047,
  1.00167406,
  2.83297682,
];

/** Natural log for finite x > 0 (about 1 ulp): exponent split plus a 2·atanh(s) series. */
function logPos(x: number): number {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984;
    e = -54;
  } // subnormal: * 2^54
  SCRATCH.setFloat64(0, x);
  const hi = SCRATCH.getUint32(0);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  SCRATCH.setUint32(0, (hi & 0xfffff) | 0x3ff00000);
  let m = SCRATCH.getFloat64(0); // in [1, 2)
  if (m > Math.SQRT2) {
    m *= 0.5;
    e++;
  }
  const s = (m - 1) / (m + 1), z = s * s, z2 = z * z, c = ODD_RECIP; // two chains in z² for speed
  const even = c[0] + z2 * (c[2] + z2 * (c[4] + z2 * (c[6] + z2 * (c[8] + z2 * c[10]))));
  const odd = c[1] + z2 * (c[3] + z2 * (c[5] + z2 * (c[7] + z2 * (c[9] + z2 * c[11]))));
  return e * LN2_HI + (e * LN2_LO + 2 * s * (even + z * odd));
}

/** e^z for finite z (about 1 ulp): z = k·ln2 + r, Taylor series of e^r, exact scaling by 2^k. */
function expFinite(z: number): number {
  if (z > 709.782712893384) return Infinity;
  if (z < -745.1332191019412) return 0;
  const k = Math.round(z / 0.6931471805599453);
  const r = (z - k * LN2_HI) - k * LN2_LO;
  let p = 1;
  for (let j = 14; j >= 1; j--) p = 1 + (r / j) * p;
  if (k > 1023) return p * POW2[2044] * 2;
  return k < -1022 ? p * POW2[k + 1076] * 5.551115123125783e-17 : p * POW2[k + 1022]; // 2^-54
}

/** e^(-x²) with x² split exactly into hi + lo (Veltkamp/Dekker), so no argument error is amplified. */
function expNegSquare(x: number): number {
  const hi = x * x, c = 134217729 * x, xh = c - (c - x), xl = x - xh;
  const lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl;
  return expFinite(-hi) * (1 - lo);
}

/** S(x) with erf(x) = 2/√π · e^(-x²) · S(x), S = Σ 2^n x^(2n+1) / (1·3···(2n+1)) (no cancellation). */
function erfSum(x: number): number {
  const x2 = 2 * x * x;
  let term = x, sum = x;
  for (let n = 0; n < 60 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    sum += term *= x2 * ODD_RECIP[n + 1];
  }
  return sum;
}

/** F(x) with erfc(x) = e^(-x²) / (√π F(x)) for x >= 1.5: F = x + (1/2)/(x + 1/(x + (3/2)/(x + ...))). */
function erfcDenominator(x: number): number {
  let f = x;
  for (let n = Math.ceil(10 + 240 / (x * x)); n >= 1; n--) f = x + (n * 0.5) / f;
  return f;
}

/** erfc for x >= 0 given E = e^(-x²): 1 - erf below 1.5, the continued fraction above. */
function erfcPos(x: number, e: number): number {
  if (x < 1.5) return 1 - TWO_OVER_SQRT_PI * e * erfSum(x);
  return x > 27.3 ? 0 : (ONE_OVER_SQRT_PI * e) / erfcDenominator(x);
}

/**
 * The error function erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, relative error about 1e-15,
 * bit-identical on every runtime (no Math.exp/log/pow inside).
 *
 * @example
 * ```ts
 * erf(0.5); // ≈ 0.5204998778130465
 * ```
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (!(a >= 1.5)) return a === 0 || x !== x ? x : TWO_OVER_SQRT_PI * expNegSquare(x) * erfSum(x);
  const r = 1 - erfcPos(a, expNegSquare(a));
  return x < 0 ? -r : r;
}

/**
 * The complementary error function erfc(x) = 1 - erf(x), with small relative error in
 * the upper tail (continued fraction for x >= 1.5); deterministic on every runtime.
 *
 * @example
 * ```ts
 * erfc(3); // ≈ 2.209049699858544e-5
 * ```
 */
export function erfc(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x), t = erfcPos(a, expNegSquare(a));
  return x < 0 ? 2 - t : t;
}

/** Giles' polynomial in w = -log(1 - x²): erfinv(x) ≈ x · p(w); float32 arithmetic when `f32`. */
function giles(w: number, f32: boolean): number {
  const c = w < 5 ? GILES_LO : GILES_HI;
  let p = c[0];
  if (f32) {
    const fr = Math.fround;
    w = w < 5 ? fr(w - 2.5) : fr(fr(Math.sqrt(w)) - 3);
    for (let i = 1; i < 9; i++) p = fr(c[i] + fr(p * w));
  } else {
    w = w < 5 ? w - 2.5 : Math.sqrt(w) - 3;
    for (let i = 1; i < 9; i++) p = c[i] + p * w;
  }
  return p;
}

/** Float32 erfinv as XLA computes it for JAX: Giles' polynomial in float32, w = -log1p(-x²). */
function erfinvF32(x: number): number {
  const a = Math.abs(x);
  if (a === 1) return x * Infinity;
  const x2 = Math.fround(x * x);
  return Math.fround(x * giles(Math.fround(x2 < 2 ** -29 ? x2 : -logPos(1 - x2)), true));
}

/**
 * Inverse error function for x in [-1, 1] (NaN outside, ±Infinity at ±1). Starts from
 * Giles' single-precision approximation ("Approximating the erfinv function", GPU Computing
 * Gems, 2011), then refines with Halley steps on erf(y) = |x| (|x| < 0.5) or on
 * erfc(y) = 1 - |x| (exact for |x| >= 0.5); relative error about 3e-15, deterministic.
 *
 * @example
 * ```ts
 * erfinv(0.5); // ≈ 0.4769362762044699
 * ```
 */
export function erfinv(x: number): number {
  const a = Math.abs(x);
  if (!(a < 1)) return a === 1 ? x * Infinity : NaN;
  if (a === 0) return x;
  const t = 1 - a; // exact for a >= 0.5
  let y = a * giles(-logPos(t * (1 + a)), false);
  for (let it = 0; it < 8; it++) {
    // q = f / f' with f = erf(y) - a or f = t - erfc(y); both have f' = 2/√π e^(-y²), f''/f' = -2y.
    const e = expNegSquare(y), ce = TWO_OVER_SQRT_PI * e;
    const q = a < 0.5 ? erfSum(y) - a / ce : (t - erfcPos(y, e)) / ce;
    const step = q / (1 + y * q); // Halley step
    y -= step;
    if (!(Math.abs(step) > 1e-6 * y)) break; // cubic convergence: the error is now below ~1e-17
  }
  return x < 0 ? -y : y;
}

/**
 * FFT kernels on interleaved (re, im) float64 rows: self-sorting mixed radix (4, 2, 3, 5 and a
 * generic odd pass) for lengths with small factors, Bluestein (power-of-two convolution) for
 * lengths with large prime factors. Plans (factors, twiddles, chirps) are cached per length.
 * @module
 */

/** A cached plan for complex FFTs of one length. */
interface CPlan {
  n: number;
  /** Mixed-radix passes (empty when `blue` is set). */
  passes: { ip: number; l1: number; ido: number; tw: Float64Array }[];
  /** Bluestein: pow-2 length m, chirp w_k = e^{-iπk²/n}, FFT of the conjugate chirp. */
  blue: { m: number; chirp: Float64Array; bhat: Float64Array; plan: CPlan } | null;
}

const plans = new Map<number, CPlan>();
const MAX_PLANS = 64;

function factorize(n: number): number[] {
  const f: number[] = [];
  while (n % 4 === 0) f.push(4), n /= 4;
  if (n % 2 === 0) f.push(2), n /= 2;
  for (let p = 3; p * p <= n; p += 2) while (n % p === 0) f.push(p), n /= p;
  if (n > 1) f.push(n);
  return f;
}

/** Rough cost of the mixed-radix plan (generic odd passes cost their radix per element). */
function radixCost(factors: number[], n: number): number {
  let c = 0;
  for (const p of factors) c += n * (p <= 5 ? 1.2 : p * 0.9);
  return c;
}

function nextPow2(n: number): number {
  let m = 1;
  while (m < n) m *= 2;
  return m;
}

/** The plan of complex FFTs of length n (cached). */
export function cplan(n: number): CPlan {
  let p = plans.get(n);
  if (p) return p;
  const factors = factorize(n);
  const m = nextPow2(2 * n - 1);
  const blueCost = 3 * radixCost(factorize(m), m) + 6 * n;
  if (n > 64 && radixCost(factors, n) > blueCost) {
    p = { n, passes: [], blue: bluestein(n, m) };
  } else {
    p = { n, passes: [], blue: null };
    let l1 = 1;
    for (const ip of factors) {
      const ido = n / (l1 * ip);
      const tw = new Float64Array(2 * (ip - 1) * (ido - 1 > 0 ? ido - 1 : 0));
      for (let j = 1; j < ip; j++) {
        for (let i = 1; i < ido; i++) {
          const a = (-2 * Math.PI * ((j * l1 * i) % n)) / n;
          const o = 2 * ((j - 1) * (ido - 1) + i - 1);
          tw[o] = Math.cos(a), tw[o + 1] = Math.sin(a);
        }
      }
      p.passes.push({ ip, l1, ido, tw });
      l1 *= ip;
    }
  }
  if (plans.size >= MAX_PLANS) plans.delete(plans.keys().next().value!);
  plans.set(n, p);
  return p;
}

/** The Bluestein tables of length n (for the float32 plans, which take it for any odd radix > 5). */
export function bluesteinPlan(n: number): NonNullable<CPlan["blue"]> {
  return cplan(n).blue ?? bluestein(n, nextPow2(2 * n - 1))!;
}

function bluestein(n: number, m: number): CPlan["blue"] {
  const chirp = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const a = (-Math.PI * ((k * k) % (2 * n))) / n; // k² mod 2n keeps the angle exact
    chirp[2 * k] = Math.cos(a), chirp[2 * k + 1] = Math.sin(a);
  }
  const bhat = new Float64Array(2 * m);
  bhat[0] = 1;
  for (let k = 1; k < n; k++) {
    bhat[2 * k] = bhat[2 * (m - k)] = chirp[2 * k];
    bhat[2 * k + 1] = bhat[2 * (m - k) + 1] = -chirp[2 * k + 1];
  }
  const plan = cplan(m);
  runPasses(plan, bhat, new Float64Array(2 * m), false);
  return { m, chirp, bhat, plan };
}

/** Forward (sign -1) or inverse (sign +1, unscaled) FFT of `x` in place; `w` is scratch (2n). */
export function fftInPlace(x: Float64Array, w: Float64Array, n: number, inverse: boolean): void {
  if (n <= 1) return;
  const p = cplan(n);
  if (p.blue) blueRun(p.blue, x, n, inverse);
  else runPasses(p, x, w, inverse);
}

function runPasses(p: CPlan, x: Float64Array, w: Float64Array, inverse: boolean): void {
  let a = x, b = w;
  for (const { ip, l1, ido, tw } of p.passes) {
    if (ip === 4) pass4(ido, l1, a, b, tw, inverse);
    else if (ip === 2) pass2(ido, l1, a, b, tw, inverse);
    else if (ip === 3) pass3(ido, l1, a, b, tw, inverse);
    else if (ip === 5) pass5(ido, l1, a, b, tw, inverse);
    else passG(ip, ido, l1, a, b, tw, inverse);
    const t = a;
    a = b, b = t;
  }
  if (a !== x) x.set(a.subarray(0, 2 * p.n));
}

const blueScratch: { buf: Float64Array; tmp: Float64Array } = {
  buf: new Float64Array(0),
  tmp: new Float64Array(0),
};

function blueRun(bl: NonNullable<CPlan["blue"]>, x: Float64Array, n: number, inv: boolean): void {
  const { m, chirp, bhat, plan } = bl;
  if (blueScratch.buf.length < 2 * m) {
    blueScratch.buf = new Float64Array(2 * m), blueScratch.tmp = new Float64Array(2 * m);
  }
  const a = blueScratch.buf.subarray(0, 2 * m), tmp = blueScratch.tmp.subarray(0, 2 * m);
  a.fill(0);
  const s = inv ? -1 : 1; // the inverse uses the conjugate chirp
  for (let k = 0; k < n; k++) {
    const cr = chirp[2 * k], ci = s * chirp[2 * k + 1], xr = x[2 * k], xi = x[2 * k + 1];
    a[2 * k] = xr * cr - xi * ci, a[2 * k + 1] = xr * ci + xi * cr;
  }
  runPasses(plan, a, tmp, false);
  // pointwise product with FFT(conj chirp) (or with FFT(chirp) = conj-reversed, for the inverse)
  for (let k = 0; k < m; k++) {
    const j = inv ? (m - k) % m : k;
    const br = bhat[2 * j], bi = s * bhat[2 * j + 1], ar = a[2 * k], ai = a[2 * k + 1];
    a[2 * k] = ar * br - ai * bi, a[2 * k + 1] = ar * bi + ai * br;
  }
  runPasses(plan, a, tmp, true);
  const sc = 1 / m;
  for (let k = 0; k < n; k++) {
    const cr = chirp[2 * k], ci = s * chirp[2 * k + 1], ar = a[2 * k] * sc, ai = a[2 * k + 1] * sc;
    x[2 * k] = ar * cr - ai * ci, x[2 * k + 1] = ar * ci + ai * cr;
  }
}

// Pass layout: input cc[i + ido*(j + ip*k)], output ch[i + ido*(k + l1*m)] (complex indices),
// ch(i,k,m) = tw(m,i) · Σ_j cc(i,j,k) e^{∓2πi jm/ip}; twiddles conjugated for the inverse.

function pass2(
  ido: number,
  l1: number,
  cc: Float64Array,
  ch: Float64Array,
  tw: Float64Array,
  inv: boolean,
) {
  const s = inv ? -1 : 1;
  for (let k = 0; k < l1; k++) {
    for (let i = 0; i < ido; i++) {
      const a = 2 * (i + ido * 2 * k), b = a + 2 * ido;
      const o0 = 2 * (i + ido * k), o1 = o0 + 2 * ido * l1;
      const ar = cc[a], ai = cc[a + 1], br = cc[b], bi = cc[b + 1];
      ch[o0] = ar + br, ch[o0 + 1] = ai + bi;
      const tr = ar - br, ti = ai - bi;
      if (i === 0) ch[o1] = tr, ch[o1 + 1] = ti;
      else {
        const wr = tw[2 * (i - 1)], wi = s * tw[2 * (i - 1) + 1];
        ch[o1] = tr * wr - ti * wi, ch[o1 + 1] = tr * wi + ti * wr;
      }
    }
  }
}

function pass4(
  ido: number,
  l1: number,
  cc: Float64Array,
  ch: Float64Array,
  tw: Float64Array,
  inv: boolean,
) {
  const s = inv ? -1 : 1, st = 2 * ido * l1, d = ido - 1;
  for (let k = 0; k < l1; k++) {
    for (let i = 0; i < ido; i++) {
      const a = 2 * (i + ido * 4 * k), q = 2 * ido;
      const x0r = cc[a], x0i = cc[a + 1], x1r = cc[a + q], x1i = cc[a + q + 1];
      const x2r = cc[a + 2 * q],
        x2i = cc[a + 2 * q + 1],
        x3r = cc[a + 3 * q],
        x3i = cc[a + 3 * q + 1];
      const t0r = x0r + x2r, t0i = x0i + x2i, t1r = x0r - x2r, t1i = x0i - x2i;
      const t2r = x1r + x3r, t2i = x1i + x3i, t3r = x1r - x3r, t3i = x1i - x3i;
      // forward: y1 = t1 - i t3, y3 = t1 + i t3 (inverse swaps them)
      const y0r = t0r + t2r, y0i = t0i + t2i, y2r = t0r - t2r, y2i = t0i - t2i;
      const y1r = t1r + s * t3i, y1i = t1i - s * t3r, y3r = t1r - s * t3i, y3i = t1i + s * t3r;
      const o = 2 * (i + ido * k);
      ch[o] = y0r, ch[o + 1] = y0i;
      if (i === 0) {
        ch[o + st] = y1r, ch[o + st + 1] = y1i;
        ch[o + 2 * st] = y2r, ch[o + 2 * st + 1] = y2i;
        ch[o + 3 * st] = y3r, ch[o + 3 * st + 1] = y3i;
      } else {
        const w1 = 2 * (i - 1), w2 = 2 * (d + i - 1), w3 = 2 * (2 * d + i - 1);
        let wr = tw[w1], wi = s * tw[w1 + 1];
        ch[o + st] = y1r * wr - y1i * wi, ch[o + st + 1] = y1r * wi + y1i * wr;
        wr = tw[w2], wi = s * tw[w2 + 1];
        ch[o + 2 * st] = y2r * wr - y2i * wi, ch[o + 2 * st + 1] = y2r * wi + y2i * wr;
        wr = tw[w3], wi = s * tw[w3 + 1];
        ch[o + 3 * st] = y3r * wr - y3i * wi, ch[o + 3 * st + 1] = y3r * wi + y3i * wr;
      }
    }
  }
}

function pass3(
  ido: number,
  l1: number,
  cc: Float64Array,
  ch: Float64Array,
  tw: Float64Array,
  inv: boolean,
) {
  const s = inv ? -1 : 1, st = 2 * ido * l1, d = ido - 1;
  const c = -0.5, sn = -s * Math.sqrt(3) / 2; // e^{∓2πi/3} = c + i sn
  for (let k = 0; k < l1; k++) {
    for (let i = 0; i < ido; i++) {
      const a = 2 * (i + ido * 3 * k), q = 2 * ido;
      const x0r = cc[a], x0i = cc[a + 1], x1r = cc[a + q], x1i = cc[a + q + 1];
      const x2r = cc[a + 2 * q], x2i = cc[a + 2 * q + 1];
      const pr = x1r + x2r, pi = x1i + x2i, mr = x1r - x2r, mi = x1i - x2i;
      const br = x0r + c * pr, bi = x0i + c * pi;
      const y1r = br - sn * mi, y1i = bi + sn * mr, y2r = br + sn * mi, y2i = bi - sn * mr;
      const o = 2 * (i + ido * k);
      ch[o] = x0r + pr, ch[o + 1] = x0i + pi;
      if (i === 0) {
        ch[o + st] = y1r, ch[o + st + 1] = y1i, ch[o + 2 * st] = y2r, ch[o + 2 * st + 1] = y2i;
      } else {
        const w1 = 2 * (i - 1), w2 = 2 * (d + i - 1);
        let wr = tw[w1], wi = s * tw[w1 + 1];
        ch[o + st] = y1r * wr - y1i * wi, ch[o + st + 1] = y1r * wi + y1i * wr;
        wr = tw[w2], wi = s * tw[w2 + 1];
        ch[o + 2 * st] = y2r * wr - y2i * wi, ch[o + 2 * st + 1] = y2r * wi + y2i * wr;
      }
    }
  }
}

function pass5(
  ido: number,
  l1: number,
  cc: Float64Array,
  ch: Float64Array,
  tw: Float64Array,
  inv: boolean,
) {
  const s = inv ? -1 : 1, st = 2 * ido * l1, d = ido - 1;
  const c1 = Math.cos(2 * Math.PI / 5), c2 = Math.cos(4 * Math.PI / 5);
  const s1 = -s * Math.sin(2 * Math.PI / 5), s2 = -s * Math.sin(4 * Math.PI / 5);
  for (let k = 0; k < l1; k++) {
    for (let i = 0; i < ido; i++) {
      const a = 2 * (i + ido * 5 * k), q = 2 * ido;
      const x0r = cc[a], x0i = cc[a + 1];
      const p1r = cc[a + q] + cc[a + 4 * q], p1i = cc[a + q + 1] + cc[a + 4 * q + 1];
      const m1r = cc[a + q] - cc[a + 4 * q], m1i = cc[a + q + 1] - cc[a + 4 * q + 1];
      const p2r = cc[a + 2 * q] + cc[a + 3 * q], p2i = cc[a + 2 * q + 1] + cc[a + 3 * q + 1];
      const m2r = cc[a + 2 * q] - cc[a + 3 * q], m2i = cc[a + 2 * q + 1] - cc[a + 3 * q + 1];
      const ar = x0r + c1 * p1r + c2 * p2r, ai = x0i + c1 * p1i + c2 * p2i;
      const br = x0r + c2 * p1r + c1 * p2r, bi = x0i + c2 * p1i + c1 * p2i;
      // i·(s1 m1 + s2 m2) and i·(s2 m1 - s1 m2)
      const ur = -(s1 * m1i + s2 * m2i), ui = s1 * m1r + s2 * m2r;
      const vr = -(s2 * m1i - s1 * m2i), vi = s2 * m1r - s1 * m2r;
      const ys = [ar + ur, ai + ui, br + vr, bi + vi, br - vr, bi - vi, ar - ur, ai - ui];
      const o = 2 * (i + ido * k);
      ch[o] = x0r + p1r + p2r, ch[o + 1] = x0i + p1i + p2i;
      for (let m = 1; m < 5; m++) {
        const yr = ys[2 * m - 2], yi = ys[2 * m - 1], oo = o + m * st;
        if (i === 0) ch[oo] = yr, ch[oo + 1] = yi;
        else {
          const w = 2 * ((m - 1) * d + i - 1), wr = tw[w], wi = s * tw[w + 1];
          ch[oo] = yr * wr - yi * wi, ch[oo + 1] = yr * wi + yi * wr;
        }
      }
    }
  }
}

const rootCache = new Map<number, Float64Array>();
function roots(ip: number): Float64Array {
  let r = rootCache.get(ip);
  if (!r) {
    r = new Float64Array(2 * ip);
    for (let j = 0; j < ip; j++) {
      r[2 * j] = Math.cos(-2 * Math.PI * j / ip), r[2 * j + 1] = Math.sin(-2 * Math.PI * j / ip);
    }
    rootCache.set(ip, r);
  }
  return r;
}

function passG(
  ip: number,
  ido: number,
  l1: number,
  cc: Float64Array,
  ch: Float64Array,
  tw: Float64Array,
  inv: boolean,
) {
  const s = inv ? -1 : 1, st = 2 * ido * l1, d = ido - 1, r = roots(ip);
  for (let k = 0; k < l1; k++) {
    for (let i = 0; i < ido; i++) {
      const a = 2 * (i + ido * ip * k), q = 2 * ido, o = 2 * (i + ido * k);
      for (let m = 0; m < ip; m++) {
        let yr = 0, yi = 0;
        for (let j = 0, jm = 0; j < ip; j++, jm = (jm + m) % ip) {
          const xr = cc[a + j * q], xi = cc[a + j * q + 1], wr = r[2 * jm], wi = s * r[2 * jm + 1];
          yr += xr * wr - xi * wi, yi += xr * wi + xi * wr;
        }
        const oo = o + m * st;
        if (i === 0 || m === 0) ch[oo] = yr, ch[oo + 1] = yi;
        else {
          const w = 2 * ((m - 1) * d + i - 1), wr = tw[w], wi = s * tw[w + 1];
          ch[oo] = yr * wr - yi * wi, ch[oo + 1] = yr * wi + yi * wr;
        }
      }
    }
  }
}

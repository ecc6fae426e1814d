/**
 * Wasm SIMD complex64 FFT kernels: the self-sorting radix-2/3/4/5 passes of lib/fft/kernel.ts on
 * interleaved float32 pairs (one v128 = two complex numbers), a row driver and a complex product.
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";

/**
 * The exports of the FFT module (all pointers are byte offsets into the imported memory; complex
 * numbers are interleaved float32 pairs):
 * - `fftPass(ip, inv, cc, ch, tw, ido, l1, k0, k1, i0, i1)`: one radix-`ip` pass (ip ∈ 2, 3, 4,
 *   5) from `cc` to `ch` over `k0 <= k < k1`, `i0 <= i < i1` (layout of lib/fft/kernel.ts: input
 *   `cc[i + ido·(j + ip·k)]`, output `ch[i + ido·(k + l1·m)]` times the twiddle
 *   `tw[(m-1)·ido + i]`, conjugated when `inv` is 1; `tw` is unused when `ido` is 1).
 * - `fftRows(desc, data, r0, r1, scratch, inv)`: transforms rows `r0 <= r < r1` of `data` in
 *   place through every pass of the plan at `desc` (`[n, passes, (ip, l1, ido, tw)…]` as int32),
 *   with `scratch` (8n bytes) as the other buffer.
 * - `fftCmul(dst, a, b, count, conj)`: `dst[k] = a[k]·b[k]` (or `a[k]·conj(b[k])`).
 */
export type FftExports = {
  fftPass: (...args: number[]) => void;
  fftRows: (...args: number[]) => void;
  fftCmul: (dst: number, a: number, b: number, count: number, conj: number) => void;
};

/** The export names of {@link buildFftModule}, in the order the pool registers them. */
export const FFT_EXPORTS = ["fftPass", "fftRows", "fftCmul"] as const;

/** Complex-pair arithmetic on v128 locals (each op writes a fresh local). */
class Cx {
  constructor(readonly f: FuncBuilder) {}
  #to(): number {
    const t = this.f.local("v128");
    this.f.set(t);
    return t;
  }
  add(a: number, b: number): number {
    this.f.get(a).get(b).op("f32x4.add");
    return this.#to();
  }
  sub(a: number, b: number): number {
    this.f.get(a).get(b).op("f32x4.sub");
    return this.#to();
  }
  scale(a: number, c: number): number {
    this.f.get(a).v128f32(c).op("f32x4.mul");
    return this.#to();
  }
  /** s·i·a for s = ±1: swap (re, im), then negate the real (s = 1) or imaginary lanes. */
  mulI(a: number, s: number): number {
    this.f.get(a).get(a).shuffle32(1, 0, 3, 2);
    this.f.v128f32(s > 0 ? -0 : 0, s > 0 ? 0 : -0, s > 0 ? -0 : 0, s > 0 ? 0 : -0).op("v128.xor");
    return this.#to();
  }
  /** a·w (a·conj(w) when `conj`): a·re(w) + swap(a)·im(w) with one lane's sign flipped. */
  cmul(a: number, w: number, conj: boolean): number {
    const f = this.f;
    f.get(a).get(w).get(w).shuffle32(0, 0, 2, 2).op("f32x4.mul");
    f.get(a).get(a).shuffle32(1, 0, 3, 2).get(w).get(w).shuffle32(1, 1, 3, 3).op("f32x4.mul");
    f.v128f32(conj ? 0 : -0, conj ? -0 : 0, conj ? 0 : -0, conj ? -0 : 0).op("v128.xor");
    f.op("f32x4.add");
    return this.#to();
  }
}

/** The radix-`ip` butterfly (forward for s = 1, inverse for s = -1) as in lib/fft/kernel.ts. */
function butterfly(c: Cx, ip: number, x: number[], s: number): number[] {
  if (ip === 2) return [c.add(x[0], x[1]), c.sub(x[0], x[1])];
  if (ip === 4) {
    const t0 = c.add(x[0], x[2]), t1 = c.sub(x[0], x[2]);
    const t2 = c.add(x[1], x[3]), t3 = c.sub(x[1], x[3]);
    return [c.add(t0, t2), c.add(t1, c.mulI(t3, -s)), c.sub(t0, t2), c.add(t1, c.mulI(t3, s))];
  }
  if (ip === 3) {
    const p = c.add(x[1], x[2]), m = c.sub(x[1], x[2]);
    const b = c.add(x[0], c.scale(p, -0.5)), q = c.scale(c.mulI(m, 1), -s * Math.sqrt(3) / 2);
    return [c.add(x[0], p), c.add(b, q), c.sub(b, q)];
  }
  const c1 = Math.cos(2 * Math.PI / 5), c2 = Math.cos(4 * Math.PI / 5);
  const s1 = -s * Math.sin(2 * Math.PI / 5), s2 = -s * Math.sin(4 * Math.PI / 5);
  const p1 = c.add(x[1], x[4]), m1 = c.sub(x[1], x[4]);
  const p2 = c.add(x[2], x[3]), m2 = c.sub(x[2], x[3]);
  const a = c.add(x[0], c.add(c.scale(p1, c1), c.scale(p2, c2)));
  const b = c.add(x[0], c.add(c.scale(p1, c2), c.scale(p2, c1)));
  const u = c.mulI(c.add(c.scale(m1, s1), c.scale(m2, s2)), 1);
  const v = c.mulI(c.sub(c.scale(m1, s2), c.scale(m2, s1)), 1);
  return [c.add(x[0], c.add(p1, p2)), c.add(a, u), c.add(b, v), c.sub(b, v), c.sub(a, u)];
}

const [CC, CH, TW, IDO, L1, K0, K1, I0, I1] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** Pushes `base + tab[j]` (tab[0] = 0: just `base`). */
function addr(f: FuncBuilder, base: number, tab: number[], j: number): void {
  f.get(base);
  if (j > 0) f.get(tab[j]).op("i32.add");
}

/** Locals holding j·q for j < ip. */
function multiples(f: FuncBuilder, q: number, ip: number): number[] {
  const out = [0, q];
  for (let j = 2; j < ip; j++) {
    const t = f.local("i32");
    f.get(q).i32(j).op("i32.mul").set(t);
    out.push(t);
  }
  return out;
}

/** Stores v128 local `v` at the address on the stack: both lanes, or lane 0 only (`half`). */
function store(f: FuncBuilder, v: number, half: boolean): void {
  if (half) f.get(v).lane("i64x2.extract_lane", 0).mem("i64.store", 0);
  else f.get(v).mem("v128.store", 0, 3);
}

/** One radix pass (see {@link FftExports}), forward or inverse. */
function genPass(mb: ModuleBuilder, ip: number, inv: boolean): FuncBuilder {
  const f = mb.func(Array(9).fill("i32"), []), c = new Cx(f), s = inv ? -1 : 1;
  const [qi, qo, k, i, inK, outK, pin, pout, pt] = Array.from({ length: 9 }, () => f.local("i32"));
  f.get(IDO).i32(3).op("i32.shl").tee(qi).get(L1).op("i32.mul").set(qo);
  const jq = multiples(f, qi, ip), mq = multiples(f, qo, ip);
  // rows of ido >= 2: two consecutive i per vector, twiddles from the table
  const bodyA = (half: boolean) => {
    const x = jq.map((_, j) => {
      addr(f, pin, jq, j);
      f.mem(half ? "v128.load64_splat" : "v128.load", 0, 3);
      const t = f.local("v128");
      f.set(t);
      return t;
    });
    const y = butterfly(c, ip, x, s);
    for (let m = 0; m < ip; m++) {
      let v = y[m];
      if (m > 0) {
        addr(f, pt, jq, m - 1);
        f.mem(half ? "v128.load64_splat" : "v128.load", 0, 3);
        const w = f.local("v128");
        f.set(w);
        v = c.cmul(v, w, inv);
      }
      addr(f, pout, mq, m);
      store(f, v, half);
    }
  };
  const pointers = () => {
    f.get(inK).get(i).i32(3).op("i32.shl").op("i32.add").set(pin);
    f.get(outK).get(i).i32(3).op("i32.shl").op("i32.add").set(pout);
    f.get(TW).get(i).i32(3).op("i32.shl").op("i32.add").set(pt);
  };
  const structA = () => {
    f.get(K0).set(k);
    f.block((done) => {
      f.get(k).get(K1).op("i32.ge_s").brIf(done);
      f.loop((ks) => {
        f.get(CC).get(k).get(qi).op("i32.mul").i32(ip).op("i32.mul").op("i32.add").set(inK);
        f.get(CH).get(k).get(qi).op("i32.mul").op("i32.add").set(outK);
        f.get(I0).set(i);
        f.block((tail) => {
          f.loop((is) => {
            f.get(i).i32(2).op("i32.add").get(I1).op("i32.gt_s").brIf(tail);
            pointers();
            bodyA(false);
            f.get(i).i32(2).op("i32.add").set(i).br(is);
          });
        });
        f.get(i).get(I1).op("i32.lt_s").if(() => (pointers(), bodyA(true)));
        f.get(k).i32(1).op("i32.add").tee(k).get(K1).op("i32.lt_s").brIf(ks);
      });
    });
  };
  // ido = 1: two consecutive k per vector, no twiddles
  const bodyB = (half: boolean) => {
    const x = jq.map((_, j) => {
      f.get(pin).mem("v128.load64_splat", 8 * j, 3);
      if (!half) f.get(pin).mem("i64.load", 8 * (ip + j)).lane("i64x2.replace_lane", 1);
      const t = f.local("v128");
      f.set(t);
      return t;
    });
    const y = butterfly(c, ip, x, s);
    for (let m = 0; m < ip; m++) addr(f, pout, mq, m), store(f, y[m], half);
  };
  const ptrB = () => {
    f.get(CC).get(k).i32(8 * ip).op("i32.mul").op("i32.add").set(pin);
    f.get(CH).get(k).i32(3).op("i32.shl").op("i32.add").set(pout);
  };
  const structB = () => {
    f.get(K0).set(k);
    f.block((done) => {
      f.loop((ks) => {
        f.get(k).i32(2).op("i32.add").get(K1).op("i32.gt_s").brIf(done);
        ptrB();
        bodyB(false);
        f.get(k).i32(2).op("i32.add").set(k).br(ks);
      });
    });
    f.get(k).get(K1).op("i32.lt_s").if(() => (ptrB(), bodyB(true)));
  };
  f.get(IDO).i32(1).op("i32.eq").if(structB, structA);
  return f;
}

/** `fftPass`: dispatches on (ip, inv) to the generated passes. */
function genDispatch(mb: ModuleBuilder): FuncBuilder {
  const passes: [number, number, FuncBuilder][] = [];
  for (const ip of [4, 2, 3, 5]) {
    for (const inv of [0, 1]) passes.push([ip, inv, genPass(mb, ip, !!inv)]);
  }
  const f = mb.func(Array(11).fill("i32"), [], "fftPass");
  for (const [ip, inv, fn] of passes) {
    f.get(0).i32(ip).op("i32.eq").get(1).i32(inv).op("i32.eq").op("i32.and");
    f.if(() => {
      for (let a = 2; a < 11; a++) f.get(a);
      f.call(fn).op("return");
    });
  }
  f.op("unreachable");
  return f;
}

/** `fftRows` (see {@link FftExports}). */
function genRows(mb: ModuleBuilder, pass: FuncBuilder): void {
  const [DESC, DATA, R0, R1, SCR, INV] = [0, 1, 2, 3, 4, 5];
  const f = mb.func(Array(6).fill("i32"), [], "fftRows");
  const [n8, np, r, a, b, t, p, d, o] = Array.from({ length: 9 }, () => f.local("i32"));
  f.get(DESC).mem("i32.load", 0).i32(3).op("i32.shl").set(n8);
  f.get(DESC).mem("i32.load", 4).set(np);
  f.get(R0).set(r);
  f.block((done) => {
    f.get(r).get(R1).op("i32.ge_s").brIf(done);
    f.loop((rows) => {
      f.get(DATA).get(r).get(n8).op("i32.mul").op("i32.add").set(a);
      f.get(SCR).set(b);
      f.i32(0).set(p);
      f.get(DESC).i32(8).op("i32.add").set(d);
      f.block((pd) => {
        f.get(p).get(np).op("i32.ge_s").brIf(pd);
        f.loop((ps) => {
          f.get(d).mem("i32.load", 0).get(INV).get(a).get(b).get(d).mem("i32.load", 12);
          f.get(d).mem("i32.load", 8).get(d).mem("i32.load", 4).i32(0);
          f.get(d).mem("i32.load", 4).i32(0).get(d).mem("i32.load", 8).call(pass);
          f.get(a).set(t).get(b).set(a).get(t).set(b);
          f.get(d).i32(16).op("i32.add").set(d);
          f.get(p).i32(1).op("i32.add").tee(p).get(np).op("i32.lt_s").brIf(ps);
        });
      });
      // an odd number of passes leaves the row in the scratch buffer (now `a`): copy it back
      f.get(np).i32(1).op("i32.and").if(() => {
        f.i32(0).set(o);
        f.loop((cp) => {
          f.get(b).get(o).op("i32.add").get(a).get(o).op("i32.add").mem("i64.load", 0);
          f.mem("i64.store", 0);
          f.get(o).i32(8).op("i32.add").tee(o).get(n8).op("i32.lt_s").brIf(cp);
        });
      });
      f.get(r).i32(1).op("i32.add").tee(r).get(R1).op("i32.lt_s").brIf(rows);
    });
  });
}

/** `fftCmul` (see {@link FftExports}). */
function genCmul(mb: ModuleBuilder): void {
  const f = mb.func(Array(5).fill("i32"), [], "fftCmul"), c = new Cx(f);
  const [DST, A, B, N, CONJ] = [0, 1, 2, 3, 4];
  const k = f.local("i32");
  const body = (half: boolean, conj: boolean) => {
    const ld = half ? "v128.load64_splat" : "v128.load";
    const x = f.local("v128"), w = f.local("v128");
    f.get(A).get(k).i32(3).op("i32.shl").op("i32.add").mem(ld, 0, 3).set(x);
    f.get(B).get(k).i32(3).op("i32.shl").op("i32.add").mem(ld, 0, 3).set(w);
    const y = c.cmul(x, w, conj);
    f.get(DST).get(k).i32(3).op("i32.shl").op("i32.add");
    store(f, y, half);
  };
  const run = (conj: boolean) => {
    f.i32(0).set(k);
    f.block((done) => {
      f.loop((ks) => {
        f.get(k).i32(2).op("i32.add").get(N).op("i32.gt_s").brIf(done);
        body(false, conj);
        f.get(k).i32(2).op("i32.add").set(k).br(ks);
      });
    });
    f.get(k).get(N).op("i32.lt_s").if(() => body(true, conj));
  };
  f.get(CONJ).if(() => run(true), () => run(false));
}

/**
 * Builds the FFT module: it imports `env.memory` (shared iff `shared`) and exports
 * {@link FFT_EXPORTS} (see {@link FftExports}).
 *
 * @example
 * ```ts
 * const bytes = buildFftModule({ shared: false });
 * if (!WebAssembly.validate(bytes)) throw new Error("invalid module");
 * ```
 */
export function buildFftModule(opts: { shared: boolean }): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importEnvMemory(opts);
  const pass = genDispatch(mb);
  genRows(mb, pass);
  genCmul(mb);
  return mb.toBytes();
}

const INSTANCES = new WeakMap<WebAssembly.Memory, FftExports>();
const MODULES = new Map<boolean, WebAssembly.Module>();

/**
 * The FFT exports instantiated on `mem` (cached per memory).
 *
 * @example
 * ```ts
 * const ex = fftExportsFor(new WebAssembly.Memory({ initial: 1 }));
 * if (typeof ex.fftRows !== "function") throw new Error("no fftRows");
 * ```
 */
export function fftExportsFor(mem: WebAssembly.Memory): FftExports {
  let ex = INSTANCES.get(mem);
  if (!ex) {
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      mem.buffer instanceof SharedArrayBuffer;
    let mod = MODULES.get(shared);
    if (!mod) MODULES.set(shared, mod = new WebAssembly.Module(buildFftModule({ shared })));
    const inst = new WebAssembly.Instance(mod, { env: { memory: mem } });
    ex = inst.exports as unknown as FftExports;
    INSTANCES.set(mem, ex);
  }
  return ex;
}

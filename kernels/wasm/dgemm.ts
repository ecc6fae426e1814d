/**
 * A float64 (f64x2) GEMM update for the blocked factorizations: `C -= A·B` on row-major operands
 * in Wasm memory with row strides, 4×4 register tiles (1-row tiles and half vectors at the edges).
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";

/**
 * `dgemmSub(c, a, b, m, n, k, ldc, lda, ldb)`: `C[i,j] -= Σ_t A[i,t]·B[t,j]` for i < m, j < n,
 * t < k; pointers are byte offsets, strides count elements. The sum for one element runs in
 * t order from 0, then is subtracted from C.
 */
export type DgemmSubExport = (...args: number[]) => void;

const [C, A, B, M, N, K, LDC, LDA, LDB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

interface L {
  i: number;
  j: number;
  t: number;
  pa: number;
  pb: number;
  pc: number;
  av: number;
  rowA: number[];
  rowC: number[];
  ldb8: number;
}

/** One R-row × V-vector tile at (i, j) (`half`: one column, lane 0 only). */
function tile(f: FuncBuilder, l: L, R: number, V: number, half: boolean): void {
  const acc = Array.from({ length: R * V }, () => f.local("v128"));
  const bv = Array.from({ length: V }, () => f.local("v128"));
  for (const a of acc) f.v128f32(0).set(a);
  f.get(A).get(l.i).get(LDA).op("i32.mul").i32(3).op("i32.shl").op("i32.add").set(l.pa);
  f.get(B).get(l.j).i32(3).op("i32.shl").op("i32.add").set(l.pb);
  f.i32(0).set(l.t);
  f.block((done) => {
    f.get(K).i32(0).op("i32.le_s").brIf(done);
    f.loop((ks) => {
      for (let v = 0; v < V; v++) {
        f.get(l.pb).mem(half ? "v128.load64_zero" : "v128.load", 16 * v, 3).set(bv[v]);
      }
      for (let r = 0; r < R; r++) {
        f.get(l.pa);
        if (r > 0) f.get(l.rowA[r]).op("i32.add");
        f.mem("v128.load64_splat", 0).set(l.av);
        for (let v = 0; v < V; v++) {
          const x = acc[r * V + v];
          f.get(x).get(l.av).get(bv[v]).op("f64x2.mul").op("f64x2.add").set(x);
        }
      }
      f.get(l.pa).i32(8).op("i32.add").set(l.pa);
      f.get(l.pb).get(l.ldb8).op("i32.add").set(l.pb);
      f.get(l.t).i32(1).op("i32.add").tee(l.t).get(K).op("i32.lt_s").brIf(ks);
    });
  });
  f.get(C).get(l.i).get(LDC).op("i32.mul").get(l.j).op("i32.add").i32(3).op("i32.shl");
  f.op("i32.add").set(l.pc);
  for (let r = 0; r < R; r++) {
    for (let v = 0; v < V; v++) {
      const at = () => {
        f.get(l.pc);
        if (r > 0) f.get(l.rowC[r]).op("i32.add");
      };
      at();
      if (half) {
        at();
        f.mem("f64.load", 0).get(acc[r * V + v]).lane("f64x2.extract_lane", 0).op("f64.sub");
        f.mem("f64.store", 0);
      } else {
        at();
        f.mem("v128.load", 16 * v, 3).get(acc[r * V + v]).op("f64x2.sub");
        f.mem("v128.store", 16 * v, 3);
      }
    }
  }
}

/** Columns of rows i..i+R: 4-column tiles, then a 2-column one, then a single column. */
function columns(f: FuncBuilder, l: L, R: number): void {
  f.i32(0).set(l.j);
  f.block((done) => {
    f.loop((js) => {
      f.get(l.j).i32(4).op("i32.add").get(N).op("i32.gt_s").brIf(done);
      tile(f, l, R, 2, false);
      f.get(l.j).i32(4).op("i32.add").set(l.j).br(js);
    });
  });
  f.get(l.j).i32(2).op("i32.add").get(N).op("i32.le_s").if(() => {
    tile(f, l, R, 1, false);
    f.get(l.j).i32(2).op("i32.add").set(l.j);
  });
  f.get(l.j).get(N).op("i32.lt_s").if(() => tile(f, l, R, 1, true));
}

/**
 * Builds a module importing `env.memory` and exporting `dgemmSub` (see {@link DgemmSubExport}).
 *
 * @example
 * ```ts
 * const mem = new WebAssembly.Memory({ initial: 1 });
 * const inst = new WebAssembly.Instance(new WebAssembly.Module(buildDgemmModule()), {
 *   env: { memory: mem },
 * });
 * const f = new Float64Array(mem.buffer);
 * f.set([1, 2], 0), f.set([3, 4], 2), f.set([10], 4); // a 1×2, b 2×1, c 1×1
 * (inst.exports.dgemmSub as (...a: number[]) => void)(32, 0, 16, 1, 1, 2, 1, 2, 1);
 * if (f[4] !== -1) throw new Error(`got ${f[4]}`);
 * ```
 */
export function buildDgemmModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
  const f = mb.func(Array(9).fill("i32"), [], "dgemmSub");
  const loc = () => f.local("i32");
  const l: L = {
    i: loc(),
    j: loc(),
    t: loc(),
    pa: loc(),
    pb: loc(),
    pc: loc(),
    av: f.local("v128"),
    rowA: [0, loc(), loc(), loc()],
    rowC: [0, loc(), loc(), loc()],
    ldb8: loc(),
  };
  for (let r = 1; r < 4; r++) {
    f.get(LDA).i32(8 * r).op("i32.mul").set(l.rowA[r]);
    f.get(LDC).i32(8 * r).op("i32.mul").set(l.rowC[r]);
  }
  f.get(LDB).i32(3).op("i32.shl").set(l.ldb8);
  f.i32(0).set(l.i);
  f.block((done) => {
    f.loop((is) => {
      f.get(l.i).i32(4).op("i32.add").get(M).op("i32.gt_s").brIf(done);
      columns(f, l, 4);
      f.get(l.i).i32(4).op("i32.add").set(l.i).br(is);
    });
  });
  f.block((done) => {
    f.loop((is) => {
      f.get(l.i).get(M).op("i32.ge_s").brIf(done);
      columns(f, l, 1);
      f.get(l.i).i32(1).op("i32.add").set(l.i).br(is);
    });
  });
  return mb.toBytes();
}

let mod: WebAssembly.Module | undefined;
const INSTANCES = new WeakMap<WebAssembly.Memory, DgemmSubExport>();

/**
 * The `dgemmSub` export instantiated on a (non-shared) memory, cached per memory.
 *
 * @example
 * ```ts
 * if (typeof dgemmSubFor(new WebAssembly.Memory({ initial: 1 })) !== "function") throw new Error();
 * ```
 */
export function dgemmSubFor(mem: WebAssembly.Memory): DgemmSubExport {
  let fn = INSTANCES.get(mem);
  if (!fn) {
    mod ??= new WebAssembly.Module(buildDgemmModule());
    fn = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports.dgemmSub as DgemmSubExport;
    INSTANCES.set(mem, fn);
  }
  return fn;
}

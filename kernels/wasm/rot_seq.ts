/**
 * Sequences of plane rotations on adjacent rows of a row-major float64 matrix in Wasm memory
 * (f64x2, a scalar tail for odd row lengths): the svd's QR sweeps apply theirs in one call.
 * @module
 */
import { ModuleBuilder } from "./encoder.ts";

/**
 * `rotSeq(x, len, l, h, c, s)`: for k = l..h−1 in order, rows k and k+1 of the matrix at byte
 * offset x (row length len) ← (c_k r_k + s_k r_{k+1}, c_k r_{k+1} − s_k r_k), c_k and s_k the
 * float64 values at byte offsets c + 8k and s + 8k.
 */
export type RotSeqExport = (...args: number[]) => void;

const [X, LEN, L, H, CP, SP] = [0, 1, 2, 3, 4, 5];

/**
 * Builds a module importing `env.memory` and exporting `rotSeq` (see {@link RotSeqExport}).
 *
 * @example
 * ```ts
 * const mem = new WebAssembly.Memory({ initial: 1 });
 * const inst = new WebAssembly.Instance(new WebAssembly.Module(buildRotSeqModule()), {
 *   env: { memory: mem },
 * });
 * const f = new Float64Array(mem.buffer);
 * f.set([1, 2, 3, 4, 5, 6], 0), f.set([0], 6), f.set([1], 7); // 2×3 rows, c = 0, s = 1
 * (inst.exports.rotSeq as (...a: number[]) => void)(0, 3, 0, 1, 48, 56);
 * if (f[0] !== 4 || f[3] !== -1 || f[5] !== -3) throw new Error(`got ${[...f.subarray(0, 6)]}`);
 * ```
 */
export function buildRotSeqModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
  const f = mb.func(Array(6).fill("i32"), [], "rotSeq");
  const k = f.local("i32"), p = f.local("i32"), q = f.local("i32"), end = f.local("i32");
  const row8 = f.local("i32"), c = f.local("f64"), s = f.local("f64");
  const cv = f.local("v128"), sv = f.local("v128"), a = f.local("v128"), b = f.local("v128");
  const as = f.local("f64"), bs = f.local("f64");
  f.get(LEN).i32(3).op("i32.shl").set(row8);
  f.get(L).set(k);
  f.block((done) => {
    f.loop((ks) => {
      f.get(k).get(H).op("i32.ge_s").brIf(done);
      f.get(CP).get(k).i32(3).op("i32.shl").op("i32.add").mem("f64.load", 0).tee(c);
      f.op("f64x2.splat").set(cv);
      f.get(SP).get(k).i32(3).op("i32.shl").op("i32.add").mem("f64.load", 0).tee(s);
      f.op("f64x2.splat").set(sv);
      f.get(X).get(k).get(row8).op("i32.mul").op("i32.add").tee(p).get(row8).op("i32.add").set(q);
      f.get(p).get(LEN).i32(-2).op("i32.and").i32(3).op("i32.shl").op("i32.add").set(end);
      f.block((vdone) => {
        f.loop((js) => {
          f.get(p).get(end).op("i32.ge_u").brIf(vdone);
          f.get(p).mem("v128.load", 0, 3).set(a);
          f.get(q).mem("v128.load", 0, 3).set(b);
          f.get(p).get(cv).get(a).op("f64x2.mul").get(sv).get(b).op("f64x2.mul").op("f64x2.add");
          f.mem("v128.store", 0, 3);
          f.get(q).get(cv).get(b).op("f64x2.mul").get(sv).get(a).op("f64x2.mul").op("f64x2.sub");
          f.mem("v128.store", 0, 3);
          f.get(p).i32(16).op("i32.add").set(p);
          f.get(q).i32(16).op("i32.add").set(q).br(js);
        });
      });
      f.get(LEN).i32(1).op("i32.and").if(() => { // the odd last column
        f.get(p).mem("f64.load", 0).set(as);
        f.get(q).mem("f64.load", 0).set(bs);
        f.get(p).get(c).get(as).op("f64.mul").get(s).get(bs).op("f64.mul").op("f64.add");
        f.mem("f64.store", 0);
        f.get(q).get(c).get(bs).op("f64.mul").get(s).get(as).op("f64.mul").op("f64.sub");
        f.mem("f64.store", 0);
      });
      f.get(k).i32(1).op("i32.add").set(k).br(ks);
    });
  });
  return mb.toBytes();
}

let mod: WebAssembly.Module | undefined;
const INSTANCES = new WeakMap<WebAssembly.Memory, RotSeqExport>();

/**
 * The `rotSeq` export instantiated on a (non-shared) memory, cached per memory.
 *
 * @example
 * ```ts
 * if (typeof rotSeqFor(new WebAssembly.Memory({ initial: 1 })) !== "function") throw new Error();
 * ```
 */
export function rotSeqFor(mem: WebAssembly.Memory): RotSeqExport {
  let fn = INSTANCES.get(mem);
  if (!fn) {
    mod ??= new WebAssembly.Module(buildRotSeqModule());
    fn = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports.rotSeq as RotSeqExport;
    INSTANCES.set(mem, fn);
  }
  return fn;
}

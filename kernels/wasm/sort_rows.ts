/**
 * Wasm kernel sorting many short contiguous rows of float32 / int32 values in one call: the
 * values become order-preserving keys (SIMD), each row is insertion-sorted (short rows) or radix-
 * sorted by 8-bit digits (digits that do not split the row skipped), the keys become values again.
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";
import { emitKeyMap, loopTo } from "./radix_sort.ts";

/** Bytes of the kernel's histogram tables (4 digits of 256 i32 counters). */
export const ROWS_HIST_BYTES = 4 * 256 * 4;
/** Rows shorter than this are insertion-sorted; longer ones radix-sorted. */
export const ROWS_INSERTION_BELOW = 32;

/** Stable insertion sort of the unsigned keys in [row, end) (row ≥ 4: `j` stops at row − 4). */
export function insertion(
  f: FuncBuilder,
  row: number,
  end: number,
  l: Record<string, number>,
): void {
  const { i, j, v, w } = l;
  f.get(row).i32(4).op("i32.add").set(i);
  loopTo(f, i, end, 4, () => {
    f.get(i).mem("i32.load").set(v);
    f.get(i).i32(4).op("i32.sub").set(j);
    f.block((placed) => {
      f.loop((shift) => {
        f.get(j).get(row).op("i32.lt_u").brIf(placed);
        f.get(j).mem("i32.load").tee(w).get(v).op("i32.le_u").brIf(placed);
        f.get(j).get(w).mem("i32.store", 4);
        f.get(j).i32(4).op("i32.sub").set(j);
        f.br(shift);
      });
    });
    f.get(j).get(v).mem("i32.store", 4);
  });
}

/**
 * LSD radix sort of the n unsigned keys at `row` (8-bit digits, `tmp` scratch of n keys): result
 * at `row`. Histograms of all four digits in one sweep; each digit that splits the keys is a
 * scatter pass through offsets held as byte addresses.
 */
function radix8(f: FuncBuilder, row: number, tmp: number, hist: number, l: Record<string, number>) {
  const { i, v, a, end, src, dst, d, sum, split, c, hend, nb, pos, rot, tbl } = l;
  f.get(hist).set(a);
  f.get(hist).i32(ROWS_HIST_BYTES).op("i32.add").set(hend);
  loopTo(f, a, hend, 16, () => f.get(a).i32(0).op("i32x4.splat").mem("v128.store", 0, 0));
  f.get(row).set(i);
  loopTo(f, i, end, 4, () => {
    f.get(i).mem("i32.load").set(v);
    for (let q = 0; q < 4; q++) {
      f.get(hist).get(v).i32(8 * q - 2).op("i32.rotr").i32(0x3fc).op("i32.and").op("i32.add")
        .tee(a).get(a).mem("i32.load", 1024 * q).i32(1).op("i32.add").mem("i32.store", 1024 * q);
    }
  });
  f.get(row).set(src);
  f.get(tmp).set(dst);
  f.i32(0).set(d);
  f.loop((digit) => {
    // offsets of digit d as byte addresses in dst; split = no bucket holds every key
    f.get(hist).get(d).i32(10).op("i32.shl").op("i32.add").tee(a).i32(1024).op("i32.add").set(hend);
    f.get(dst).set(sum);
    f.i32(1).set(split);
    loopTo(f, a, hend, 4, () => {
      f.get(a).mem("i32.load").set(c);
      f.get(split).get(c).get(nb).op("i32.ne").op("i32.and").set(split);
      f.get(a).get(sum).mem("i32.store");
      f.get(sum).get(c).i32(2).op("i32.shl").op("i32.add").set(sum);
    });
    f.get(split).if(() => {
      f.get(src).set(i);
      f.get(src).get(nb).i32(2).op("i32.shl").op("i32.add").set(hend);
      f.get(d).i32(3).op("i32.shl").i32(2).op("i32.sub").set(rot);
      f.get(hist).get(d).i32(10).op("i32.shl").op("i32.add").set(tbl);
      loopTo(f, i, hend, 4, () => {
        f.get(i).mem("i32.load").set(v);
        f.get(tbl).get(v).get(rot).op("i32.rotr").i32(0x3fc).op("i32.and").op("i32.add").tee(a)
          .mem("i32.load").set(pos);
        f.get(a).get(pos).i32(4).op("i32.add").mem("i32.store");
        f.get(pos).get(v).mem("i32.store");
      });
      f.get(src).get(dst).set(src).set(dst); // swap
    });
    f.get(d).i32(1).op("i32.add").tee(d).i32(4).op("i32.lt_u").brIf(digit);
  });
  // an odd number of passes leaves the keys in tmp
  f.get(src).get(row).op("i32.ne").if(() => {
    f.get(row).set(dst);
    f.get(src).get(nb).i32(2).op("i32.shl").op("i32.add").set(hend);
    loopTo(f, src, hend, 4, () => {
      f.get(dst).get(src).mem("i32.load").mem("i32.store");
      f.get(dst).i32(4).op("i32.add").set(dst);
    });
  });
}

/**
 * `sortRows(p, tmp, rows, n, hist, mode)`: sorts each of `rows` contiguous rows of n values at p
 * (p ≥ 4) in place; mode 0 int32, 1 float32 (NaN → one pattern, last; -0 before 0). `tmp` holds
 * n keys, `hist` {@link ROWS_HIST_BYTES} bytes.
 */
function genSortRows(mb: ModuleBuilder): void {
  const f = mb.func(Array(6).fill("i32"), [], "sortRows");
  const [p, tmp, rows, n, hist, mode] = [0, 1, 2, 3, 4, 5];
  const names = ["r", "row", "i", "j", "v", "w", "a", "end", "src", "dst", "d", "sum", "split"];
  const l: Record<string, number> = {};
  for (const k of [...names, "c", "hend", "fm", "pos", "rot", "tbl", "total"]) {
    l[k] = f.local("i32");
  }
  l.nb = n;
  const { r, row, end, fm, total } = l;
  f.i32(0).get(mode).i32(0).op("i32.ne").op("i32.sub").set(fm); // -1 floats, 0 ints
  f.get(rows).get(n).op("i32.mul").set(total);
  mapKeys(f, p, l, false);
  f.get(p).set(row);
  f.i32(0).set(r);
  f.block((done) => {
    f.get(r).get(rows).op("i32.ge_u").brIf(done);
    f.loop((nextRow) => {
      f.get(row).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
      f.get(n).i32(ROWS_INSERTION_BELOW).op("i32.lt_u").if(
        () => insertion(f, row, end, l),
        () => radix8(f, row, tmp, hist, l),
      );
      f.get(end).set(row);
      f.get(r).i32(1).op("i32.add").tee(r).get(rows).op("i32.lt_u").brIf(nextRow);
    });
  });
  mapKeys(f, p, l, true);
}

/** Maps the `l.total` values at p to order-preserving keys in place, or back (`emitKeyMap`). */
function mapKeys(f: FuncBuilder, p: number, l: Record<string, number>, back: boolean): void {
  f.get(p).set(l.i);
  f.get(p).get(l.total).i32(2).op("i32.shl").op("i32.add").set(l.end);
  emitKeyMap(f, l.i, l.end, l.fm, back);
}

/**
 * The row-sort module (`sortRows`) on an imported, unshared memory.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const m = new WebAssembly.Instance(new WebAssembly.Module(buildSortRowsModule()), {
 *   env: { memory },
 * }).exports as Record<string, (...a: number[]) => void>;
 * new Int32Array(memory.buffer, 64, 6).set([3, -1, 2, 9, 0, -5]);
 * m.sortRows(64, 1024, 2, 3, 2048, 0); // two int32 rows of 3
 * const got = [...new Int32Array(memory.buffer, 64, 6)];
 * if (got.join() !== "-1,2,3,-5,0,9") throw new Error(got.join());
 * ```
 */
export function buildSortRowsModule(): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
  genSortRows(mb);
  return mb.toBytes();
}

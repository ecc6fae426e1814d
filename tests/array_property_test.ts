/**
 * Property tests of the array primitives (issue 17: fast-check properties over new primitives):
 * gather/scatter (lax.gather, lax.scatter, lax.scatterAdd, take, takeAlongAxis, at().add),
 * sorting (sort, argsort, topK, searchsorted) and cumulative ops (cumsum, cumprod, cummax,
 * cummin, associativeScan) with random shapes and parameters on the cpu backend (eager and jit)
 * against the reference backend in float64 and plain JS loops; gradients against finite
 * differences for a few.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkGrads, jit, lax, np, type Tensor } from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";
import { onBackend, prng } from "./_prop_util.ts";

/** True on every k-th call (the runs that also check gradients). */
let calls = 0;
const gradRun = (k: number) => calls++ % k === 0;
const SEED = 1718;
const RUNS = 10;
const f64 = (data: ArrayLike<number>, shape: number[]) =>
  np.array(Float64Array.from(data), { dtype: "float64", shape });
const i32 = (data: ArrayLike<number>, shape: number[]) =>
  np.array(Int32Array.from(data), { dtype: "int32", shape });
const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>, Number);
const close = (got: number[], want: number[], what: string, tol = 1e-12) => {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  const bad = allCloseReport(got, want, { rtol: tol, atol: tol });
  assert.equal(bad, null, `${what}: ${bad}`);
};
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: number[]) => s.map((_, i) => size(s.slice(i + 1)));
/** Values with ties: drawn from a few levels, so stable orderings matter. */
const tiedData = (n: number, seed: number) => {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * 5) - 2 + (r() < 0.5 ? 0 : 0.25));
};
const smooth = (n: number, seed: number) => {
  const r = prng(seed);
  return Array.from({ length: n }, () => 2 * r() - 1);
};

/** `f(...args)` on the reference backend, the cpu backend eager and the cpu backend under jit. */
function everywhere(f: (...a: Tensor[]) => Tensor, make: () => Tensor[]): number[][] {
  const run = (name: string, jitted: boolean) =>
    onBackend(name, () => vals((jitted ? jit(f) : f)(...make())));
  return [run("reference", false), run("cpu", false), run("cpu", true)];
}
function agree(results: number[][], want: number[], what: string, tol = 1e-12): void {
  ["reference", "cpu", "cpu jit"].forEach((w, i) => close(results[i], want, `${what} (${w})`, tol));
}

const shapeArb = (maxRank: number) =>
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: maxRank });

test("property: take / takeAlongAxis (random shape, axis, indices) == JS loop", () => {
  fc.assert(
    fc.property(
      shapeArb(3),
      fc.nat(),
      fc.integer({ min: 1, max: 5 }),
      fc.nat(),
      (s, ax, k, seed) => {
        const axis = ax % s.length, n = s[axis], r = prng(seed);
        const x = smooth(size(s), seed);
        const idx = Array.from({ length: k }, () => Math.floor(r() * n));
        // take: out shape s[:axis] + [k] + s[axis+1:]
        const outer = size(s.slice(0, axis)), inner = size(s.slice(axis + 1));
        const want: number[] = [];
        for (let o = 0; o < outer; o++) {
          for (const j of idx) {
            for (let i = 0; i < inner; i++) {
              want.push(x[(o * n + j) * inner + i]);
            }
          }
        }
        const take = (t: Tensor, i: Tensor) => np.take(t, i, { axis });
        agree(everywhere(take, () => [f64(x, s), i32(idx, [k])]), want, `take ${s} axis ${axis}`);
        // takeAlongAxis: indices of shape s with s[axis] -> k
        const is = s.map((d, i) => (i === axis ? k : d));
        const along = Array.from({ length: size(is) }, () => Math.floor(r() * n));
        const want2 = along.map((j, p) => {
          const o = Math.floor(p / (k * inner)), i = p % inner;
          return x[(o * n + j) * inner + i];
        });
        const tal = (t: Tensor, i: Tensor) => np.takeAlongAxis(t, i, axis);
        agree(everywhere(tal, () => [f64(x, s), i32(along, is)]), want2, `takeAlongAxis ${s}`);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: lax.gather of clipped 2-d windows (random starts, some out of range) == JS loop", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(),
      (A, B, N, seed) => {
        const r = prng(seed);
        const s0 = 1 + Math.floor(r() * A), s1 = 1 + Math.floor(r() * B);
        const x = smooth(A * B, seed);
        const starts = Array.from(
          { length: 2 * N },
          (_, i) => Math.floor(r() * ((i % 2 ? B : A) + 3)) - 1,
        );
        const dn = { offsetDims: [1, 2], collapsedSliceDims: [], startIndexMap: [0, 1] };
        const g = (t: Tensor, i: Tensor) => lax.gather(t, i, dn, [s0, s1], { mode: "clip" });
        const want: number[] = [];
        const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
        for (let n = 0; n < N; n++) {
          const a0 = clamp(starts[2 * n], A - s0), b0 = clamp(starts[2 * n + 1], B - s1);
          for (let i = 0; i < s0; i++) {
            for (let j = 0; j < s1; j++) want.push(x[(a0 + i) * B + b0 + j]);
          }
        }
        agree(everywhere(g, () => [f64(x, [A, B]), i32(starts, [N, 2])]), want, `gather ${A}x${B}`);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: lax.scatterAdd / lax.scatter / at().add (repeated rows) == JS loop; grads", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.nat(),
      (A, B, N, seed) => {
        const r = prng(seed);
        const x = smooth(A * B, seed), u = smooth(N * B, seed + 1);
        const rows = Array.from({ length: N }, () => Math.floor(r() * A));
        const dn = {
          updateWindowDims: [1],
          insertedWindowDims: [0],
          scatterDimsToOperandDims: [0],
        };
        const add = (t: Tensor, i: Tensor, v: Tensor) => lax.scatterAdd(t, i, v, dn);
        const want = [...x];
        rows.forEach((row, n) => {
          for (let j = 0; j < B; j++) want[row * B + j] += u[n * B + j];
        });
        const make = () => [f64(x, [A, B]), i32(rows, [N, 1]), f64(u, [N, B])];
        agree(everywhere(add, make), want, `scatterAdd ${A}x${B} rows ${rows}`);
        // scatter (set) with distinct rows: each row replaced by its update
        const uniq = [...new Set(rows)], set = [...x];
        uniq.forEach((row, n) => {
          for (let j = 0; j < B; j++) set[row * B + j] = u[n * B + j];
        });
        const put = (t: Tensor, i: Tensor, v: Tensor) => lax.scatter(t, i, v, dn);
        const makeSet = () => [
          f64(x, [A, B]),
          i32(uniq, [uniq.length, 1]),
          f64(u.slice(0, uniq.length * B), [uniq.length, B]),
        ];
        agree(everywhere(put, makeSet), set, `scatter ${A}x${B}`);
        // x.at(rows).add(u): the same accumulation through the indexing front end
        const at = (t: Tensor, i: Tensor, v: Tensor) => t.at(i).add(v);
        const make1 = () => [f64(x, [A, B]), i32(rows, [N]), f64(u, [N, B])];
        agree(everywhere(at, make1), want, `at().add ${A}x${B}`);
        checkGrads((t: Tensor, v: Tensor) => np.sum(np.tanh(add(t, i32(rows, [N, 1]), v))), [
          f64(x, [A, B]),
          f64(u, [N, B]),
        ]);
      },
    ),
    { seed: SEED, numRuns: 6 },
  );
});

test("property: sort / argsort (stable, with ties) / topK / searchsorted == JS", () => {
  fc.assert(
    fc.property(shapeArb(3), fc.nat(), fc.nat(), (s, ax, seed) => {
      const axis = ax % s.length, n = s[axis], x = tiedData(size(s), seed);
      const st = strides(s), lines: number[][] = []; // flat positions of each line along axis
      for (let p = 0; p < x.length; p++) {
        if (Math.floor(p / st[axis]) % n !== 0) continue;
        lines.push(Array.from({ length: n }, (_, j) => p + j * st[axis]));
      }
      const sorted = new Array(x.length), order = new Array(x.length);
      for (const line of lines) {
        const perm = line.map((_, j) => j).sort((a, b) => x[line[a]] - x[line[b]] || a - b);
        line.forEach((p, j) => [sorted[p], order[p]] = [x[line[perm[j]]], perm[j]]);
      }
      const mk = () => [f64(x, s)];
      agree(everywhere((t) => np.sort(t, { axis }), mk), sorted, `sort ${s} axis ${axis}`);
      agree(everywhere((t) => np.argsort(t, { axis }), mk), order, `argsort ${s} axis ${axis}`);
      // topK over the last axis: largest first, the lower index first among equal values
      const k = 1 + (seed % s[s.length - 1]), m = s[s.length - 1];
      const topV: number[] = [], topI: number[] = [];
      for (let o = 0; o < x.length / m; o++) {
        const row = x.slice(o * m, o * m + m);
        const perm = row.map((_, j) => j).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
        perm.forEach((j) => [topV.push(row[j]), topI.push(j)]);
      }
      const [tv, ti] = onBackend("cpu", () => lax.topK(f64(x, s), k).map(vals));
      const [rv, ri] = onBackend("reference", () => lax.topK(f64(x, s), k).map(vals));
      close(tv, topV, "topK values (cpu)");
      close(rv, topV, "topK values (reference)");
      assert.deepEqual([ti, ri], [topI, topI], `topK indices ${s} k ${k}`);
      // searchsorted into a sorted 1-d array with duplicates, both sides
      const a = [...x.slice(0, 1 + (seed % x.length))].sort((p, q) => p - q);
      const v = tiedData(7, seed + 3);
      for (const side of ["left", "right"] as const) {
        const want = v.map((q) => a.filter((e) => (side === "left" ? e < q : e <= q)).length);
        const ss = (p: Tensor, q: Tensor) => np.searchsorted(p, q, { side });
        agree(
          everywhere(ss, () => [f64(a, [a.length]), f64(v, [7])]),
          want,
          `searchsorted ${side}`,
        );
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: cumsum / cumprod / cummax / cummin / associativeScan (axis, reverse) == JS loop", () => {
  const ops = {
    cumsum: [np.cumsum, (a: number, b: number) => a + b],
    cumprod: [np.cumprod, (a: number, b: number) => a * b],
    cummax: [np.cummax, Math.max],
    cummin: [np.cummin, Math.min],
  } as const;
  fc.assert(
    fc.property(shapeArb(3), fc.nat(), fc.boolean(), fc.nat(), (s, ax, reverse, seed) => {
      const axis = ax % s.length, n = s[axis], st = strides(s)[axis];
      const x = tiedData(size(s), seed).map((v) => v / 2 + 0.1);
      const scan = (op: (a: number, b: number) => number) => {
        const out = [...x];
        for (let p = 0; p < x.length; p++) {
          const j = Math.floor(p / st) % n;
          if (j !== (reverse ? n - 1 : 0)) continue;
          for (let t = 1; t < n; t++) {
            const q = p + (reverse ? -t : t) * st, prev = q + (reverse ? st : -st);
            out[q] = op(out[prev], x[q]);
          }
        }
        return out;
      };
      for (const [name, [fn, op]] of Object.entries(ops)) {
        const f = (t: Tensor) => fn(t, { axis, reverse });
        agree(everywhere(f, () => [f64(x, s)]), scan(op), `${name} ${s} axis ${axis} ${reverse}`);
      }
      // a linear recurrence h = a h + b as an associative scan over (a, b) pairs
      const b = smooth(x.length, seed + 5);
      const comb = (
        [a1, b1]: [Tensor, Tensor],
        [a2, b2]: [Tensor, Tensor],
      ): [Tensor, Tensor] => [a1.mul(a2), a2.mul(b1).add(b2)];
      const rec = (a: Tensor, bb: Tensor) =>
        (lax.associativeScan(comb, [a, bb], { axis, reverse }) as Tensor[])[1];
      const want = [...b];
      for (let p = 0; p < x.length; p++) {
        const j = Math.floor(p / st) % n;
        if (j !== (reverse ? n - 1 : 0)) continue;
        for (let t = 1; t < n; t++) {
          const q = p + (reverse ? -t : t) * st, prev = q + (reverse ? st : -st);
          want[q] = x[q] * want[prev] + b[q];
        }
      }
      agree(everywhere(rec, () => [f64(x, s), f64(b, s)]), want, `associativeScan ${s}`, 1e-10);
      if (gradRun(3)) {
        checkGrads((t: Tensor) => np.sum(np.sin(np.cumprod(t, { axis, reverse }))), [f64(x, s)]);
        checkGrads((t: Tensor, u: Tensor) => np.sum(np.tanh(rec(t, u))), [f64(x, s), f64(b, s)]);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

// Tests for the worker pool: parallel sgemm equals single-threaded sgemm bit for bit, queueing,
// sync/async paths, errors from workers, the in-process fallback, the heap and strip splitting.
// The pool created first is deliberately never terminated: the run must still exit.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ensureMemoryBytes,
  type SgemmArgs,
  sgemmInto,
  sgemmWorkspaceBytes,
} from "../../../../kernels/wasm/sgemm.ts";
import { createPool, type WorkerPool } from "./pool.ts";
import {
  parallelSgemm,
  parallelSgemmSync,
  poolMatmulF32,
  type PoolSgemmArgs,
  splitSgemm,
} from "./parallel_sgemm.ts";
import { WasmHeap } from "./heap.ts";
import { workerSource } from "./worker.ts";

const SIZES = [1, 3, 4, 5, 8, 17, 64, 65, 130];

function randomF32(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  });
}

/** Single-threaded result of the same GEMM in a private memory (same kernel configuration). */
function reference(
  pool: WorkerPool,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
): Float32Array {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const pa = 0, pb = 4 * M * K, pc = pb + 4 * K * N, work = pc + 4 * M * N + 64;
  ensureMemoryBytes(mem, work + sgemmWorkspaceBytes(pool.config) + 64);
  new Float32Array(mem.buffer).set(a, 0);
  new Float32Array(mem.buffer).set(b, pb / 4);
  const args: SgemmArgs = {
    m: M,
    n: N,
    k: K,
    a: pa,
    rsA: K,
    csA: 1,
    b: pb,
    rsB: N,
    csB: 1,
    c: pc,
    ldc: N,
    accumulate: false,
    work,
  };
  sgemmInto(mem, args, pool.config);
  return new Float32Array(mem.buffer, pc, M * N).slice();
}

function assertBitEqual(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  const gi = new Int32Array(got.buffer, got.byteOffset, got.length);
  const wi = new Int32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < gi.length; i++) {
    if (gi[i] !== wi[i]) {
      assert.fail(`${what}: element ${i} is ${got[i]}, single-threaded gave ${want[i]}`);
    }
  }
}

let pool: WorkerPool; // never terminated on purpose
const started = performance.now();
const ready = createPool({ workers: 1, minParallelFlops: 0 }).then((p) => pool = p);

describe("worker pool", () => {
  const extra: WorkerPool[] = [];
  after(async () => {
    for (const p of extra) await p.terminate();
  });

  test("starts one worker on a shared memory", async () => {
    await ready;
    assert.equal(pool.workers, 1);
    assert.equal(pool.threads, 2);
    assert.equal(pool.shared, true);
    assert.ok(performance.now() - started < 30_000, "pool start-up hung"); // a hang guard, not a timing target
  });

  test("parallel sgemm equals single-threaded bit for bit (all shape combinations)", async () => {
    await ready;
    let seed = 1;
    for (const M of SIZES) {
      for (const N of SIZES) {
        for (const K of [1, 5, 65, 130]) {
          const a = randomF32(M * K, seed++), b = randomF32(K * N, seed++);
          const want = reference(pool, a, b, M, K, N);
          assertBitEqual(await poolMatmulF32(pool, a, b, M, K, N), want, `async ${M}x${K}x${N}`);
        }
      }
    }
  });

  test("sync path, K > kc, and both split directions", async () => {
    await ready;
    for (const [M, K, N] of [[130, 600, 9], [9, 600, 130], [200, 257, 200], [64, 1, 300]]) {
      const a = randomF32(M * K, M), b = randomF32(K * N, N);
      const want = reference(pool, a, b, M, K, N);
      const pa = pool.heap.alloc(4 * M * K),
        pb = pool.heap.alloc(4 * K * N),
        pc = pool.heap.alloc(4 * M * N);
      new Float32Array(pool.memory.buffer, pa, M * K).set(a);
      new Float32Array(pool.memory.buffer, pb, K * N).set(b);
      parallelSgemmSync(pool, {
        m: M,
        n: N,
        k: K,
        a: pa,
        rsA: K,
        csA: 1,
        b: pb,
        rsB: N,
        csB: 1,
        c: pc,
        ldc: N,
        accumulate: false,
      });
      assertBitEqual(new Float32Array(pool.memory.buffer, pc, M * N), want, `sync ${M}x${K}x${N}`);
      for (const p of [pa, pb, pc]) pool.heap.free(p);
    }
  });

  test("strided sub-blocks with accumulation", async () => {
    await ready;
    const M = 37, K = 41, N = 70, lda = 50, ldb = 90, ldc = 80;
    const A = randomF32(M * lda, 3), B = randomF32(K * ldb, 4), C = randomF32((M + 2) * ldc, 5);
    const h = pool.heap, buf = () => new Float32Array(pool.memory.buffer);
    const pa = h.alloc(4 * A.length), pb = h.alloc(4 * B.length), pc = h.alloc(4 * C.length);
    buf().set(A, pa / 4);
    buf().set(B, pb / 4);
    buf().set(C, pc / 4);
    const args: PoolSgemmArgs = {
      m: M,
      n: N,
      k: K,
      a: pa + 4 * 2,
      rsA: lda,
      csA: 1,
      b: pb + 4 * 3,
      rsB: ldb,
      csB: 1,
      c: pc + 4 * (ldc + 5),
      ldc,
      accumulate: true,
    };
    await parallelSgemm(pool, args);
    const par = buf().slice(pc / 4, pc / 4 + C.length);
    buf().set(C, pc / 4);
    pool.runSync([{
      op: pool.sgemmOp,
      args: [M, N, K, args.a, lda, 1, args.b, ldb, 1, args.c, ldc, 1, pool.workspace(0)],
    }]);
    assertBitEqual(par, buf().slice(pc / 4, pc / 4 + C.length), "strided");
    let changed = 0;
    for (let i = 0; i < C.length; i++) if (par[i] !== C[i]) changed++;
    assert.ok(changed > 0 && changed <= M * N);
    for (const p of [pa, pb, pc]) h.free(p);
  });

  test("concurrent calls queue and all finish correctly", async () => {
    await ready;
    const jobs = [[50, 60, 70], [130, 17, 65], [8, 300, 129], [65, 65, 65]].map(([M, K, N], i) => {
      const a = randomF32(M * K, 40 + i), b = randomF32(K * N, 50 + i);
      return { want: reference(pool, a, b, M, K, N), got: poolMatmulF32(pool, a, b, M, K, N) };
    });
    for (const [i, j] of jobs.entries()) assertBitEqual(await j.got, j.want, `job ${i}`);
    assert.equal(pool.busy, false);
  });

  test("a trap in a worker rejects, and the pool stays usable", async () => {
    await ready;
    const ok = {
      op: pool.sgemmOp,
      args: [1, 1, 1, 64, 1, 1, 64, 1, 1, 128, 1, 0, pool.workspace(0)],
    };
    const bad = {
      op: pool.sgemmOp,
      args: [4, 4, 4, 0x7fff0000, 4, 1, 0, 4, 1, 0, 4, 0, pool.workspace(1)],
    };
    await assert.rejects(pool.run([ok, bad]), /failed in worker 0/);
    assert.throws(() => pool.runSync([ok, bad]), /failed in worker 0/);
    assert.throws(() => pool.runSync([ok, { op: 99, args: [] }]), /status 2/);
    assert.throws(() => pool.runSync([ok, ok, ok]), RangeError);
    const a = randomF32(64 * 64, 9);
    assertBitEqual(
      await poolMatmulF32(pool, a, a, 64, 64, 64),
      reference(pool, a, a, 64, 64, 64),
      "after error",
    );
  });

  test("in-process fallback (workers: 0) gives the same bits", async () => {
    await ready;
    const solo = await createPool({ workers: 0 });
    extra.push(solo);
    assert.equal(solo.threads, 1);
    assert.equal(solo.shared, false);
    const a = randomF32(65 * 130, 1), b = randomF32(130 * 17, 2);
    assertBitEqual(
      await poolMatmulF32(solo, a, b, 65, 130, 17),
      await poolMatmulF32(pool, a, b, 65, 130, 17),
      "solo",
    );
  });

  test("falls back to in-process when SharedArrayBuffer is missing", async () => {
    const g = globalThis as { SharedArrayBuffer?: unknown };
    const saved = g.SharedArrayBuffer;
    delete g.SharedArrayBuffer;
    let solo: WorkerPool;
    try {
      solo = await createPool({ workers: 3 });
    } finally {
      g.SharedArrayBuffer = saved;
    }
    extra.push(solo);
    assert.equal(solo.threads, 1);
    assert.equal(solo.shared, false);
    const a = randomF32(30 * 20, 31), b = randomF32(20 * 10, 32);
    assertBitEqual(
      await poolMatmulF32(solo, a, b, 30, 20, 10),
      reference(solo, a, b, 30, 20, 10),
      "no SAB",
    );
  });

  test("web workers (Blob URL) where the runtime has a global Worker", async () => {
    if (typeof Worker === "undefined") return; // Node 20
    const web = await createPool({ workers: 1, workerKind: "web", minParallelFlops: 0 });
    try {
      assert.equal(web.threads, 2);
      const a = randomF32(65 * 40, 21), b = randomF32(40 * 130, 22);
      assertBitEqual(
        await poolMatmulF32(web, a, b, 65, 40, 130),
        reference(web, a, b, 65, 40, 130),
        "web",
      );
    } finally {
      await web.terminate(); // required: a Deno web Worker cannot be unref'd
    }
  });

  test("terminate stops a pool; later use throws", async () => {
    const p = await createPool({ workers: 1 });
    await p.terminate();
    await assert.rejects(
      poolMatmulF32(p, new Float32Array(4), new Float32Array(4), 2, 2, 2),
      /terminated/,
    );
    await p.terminate();
  });
});

describe("pool helpers", () => {
  test("splitSgemm covers the output with tile-aligned strips", () => {
    const base: PoolSgemmArgs = {
      m: 10,
      n: 100,
      k: 3,
      a: 1000,
      rsA: 3,
      csA: 1,
      b: 2000,
      rsB: 100,
      csB: 1,
      c: 4000,
      ldc: 100,
      accumulate: true,
    };
    const s = splitSgemm(base, 3, 16, 2);
    assert.deepEqual(s.map((p) => p.n), [48, 32, 20]); // 7 tiles of 16 split 3 + 2 + 2
    assert.deepEqual(s.map((p) => p.c), [4000, 4192, 4320]);
    assert.deepEqual(s.map((p) => p.b), [2000, 2192, 2320]);
    const t = splitSgemm({ ...base, m: 101, n: 7 }, 2, 16, 3);
    assert.deepEqual(t.map((p) => p.m), [51, 50]);
    assert.deepEqual(t.map((p) => p.a), [1000, 1000 + 4 * 51 * 3]);
    assert.deepEqual(t.map((p) => p.c), [4000, 4000 + 4 * 51 * 100]);
    assert.equal(splitSgemm({ ...base, n: 5, m: 1 }, 4, 16, 2).length, 1);
  });

  test("WasmHeap allocates aligned blocks, reuses and coalesces freed ones, grows memory", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 100 });
    const h = new WasmHeap(mem, 100);
    const a = h.alloc(10), b = h.alloc(100), c = h.alloc(64);
    assert.equal(a, 128);
    assert.deepEqual([b % 64, c % 64, b - a, c - b], [0, 0, 64, 128]);
    h.free(a);
    h.free(b);
    assert.equal(h.alloc(192), a); // coalesced a+b
    const big = h.alloc(200_000);
    assert.ok(mem.buffer.byteLength >= big + 200_000);
    assert.throws(() => h.free(12345), RangeError);
    assert.throws(() => h.alloc(100 * 65536), RangeError);
    assert.ok(h.allocatedBytes >= 200_000);
  });

  test("worker sources parse", () => {
    for (const kind of ["node", "web"] as const) {
      assert.doesNotThrow(() => new Function(workerSource(kind)));
    }
  });
});

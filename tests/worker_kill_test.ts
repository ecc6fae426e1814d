/**
 * Issue 17, item 9: a worker killed while it is busy (computing its share of a GEMM, not parked
 * in `Atomics.wait`) makes the pending call fail with a clear error instead of hanging or
 * returning a partial result, on every runtime whose workers can be terminated mid-task
 * (Node and Deno through `node:worker_threads`; Bun too). The pool then refuses work.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPool, type PoolTask, type WorkerPool } from "../lib/backend/cpu/pool/pool.ts";

/** An sgemm task over fresh n×n operands in the pool's memory (workspace of thread t). */
function gemmTask(p: WorkerPool, n: number, t: number): PoolTask {
  const a = p.heap.alloc(4 * n * n), b = p.heap.alloc(4 * n * n), c = p.heap.alloc(4 * n * n);
  new Float32Array(p.memory.buffer, a, n * n).fill(1);
  new Float32Array(p.memory.buffer, b, n * n).fill(1);
  return { op: p.sgemmOp, args: [n, n, n, a, n, 1, b, n, 1, c, n, 0, p.workspace(t)] };
}

test("a worker killed while busy fails the pending call with a clear error", async () => {
  const p = await createPool({ workers: 1, minParallelFlops: 0 });
  if (p.threads < 2) return; // no worker threads in this runtime: nothing to kill
  try {
    // the main thread's share is tiny; the worker's takes about 2 s here (2 * 3072^3 flops): far longer
    // than the 150 ms wait plus the time a runtime takes to act on terminate()
    const tasks = [gemmTask(p, 4, 0), gemmTask(p, 3072, 1)];
    const t0 = performance.now();
    const pending = p.run(tasks);
    let settled = false;
    pending.then(() => settled = true, () => settled = true);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(settled, false, "the worker finished before it could be killed");
    p._killWorker(0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error("the call hangs after its worker died")), 20_000);
    });
    try {
      await assert.rejects(Promise.race([pending, hang]), /pool: a worker died: worker exited/);
    } finally {
      clearTimeout(timer);
    }
    assert.ok(performance.now() - t0 < 30_000);
    assert.ok(p.crashed);
    await assert.rejects(p.run([gemmTask(p, 4, 0), gemmTask(p, 4, 1)]), /a worker died/);
  } finally {
    await p.terminate();
  }
});

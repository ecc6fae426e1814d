/**
 * Main side of the worker pool: one shared WebAssembly.Memory, N workers running the same Wasm
 * modules on it, and a control block through which tasks are handed off with Atomics (the main
 * thread takes a share of every task). Runtime behaviour per engine: README.md next to this file.
 * @module
 */
import {
  SGEMM_CONFIG,
  type SgemmConfig,
  sgemmWorkspaceBytes,
} from "../../../../kernels/wasm/sgemm.ts";
import { WasmHeap } from "./heap.ts";
import { POOL_MODULES, poolTable } from "./kernels.ts";
import {
  LAYOUT,
  MAX_ARGS,
  OP_STOP,
  SLOT_INTS,
  type WorkerInit,
  type WorkerMessage,
  workerSource,
} from "./worker.ts";

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Worker threads besides the main thread (default: hardware threads − 1; 0 = in-process). */
  workers?: number;
  /** Initial memory size in 64 KiB pages (default: workspaces + 16 MiB). */
  initialPages?: number;
  /** Maximum memory size in pages (default 65536 = 4 GiB; reserves address space only). */
  maximumPages?: number;
  /** Below this many FLOPs (2·M·N·K) a GEMM runs on the main thread only (default 2^23 ≈ 160³). */
  minParallelFlops?: number;
  /** Atomics.load polls before a worker (or the waiting main thread) sleeps (default 2000). */
  spin?: number;
  /** Micro-kernel configuration (default: SGEMM_CONFIG for this engine). */
  config?: SgemmConfig;
  /** Give up on starting workers after this many ms and run in-process (default 15000). */
  startTimeoutMs?: number;
  /**
   * How workers are started: `"node"` = `node:worker_threads` eval workers, `"web"` = a Worker
   * from a Blob URL, `"auto"` (default) = node where available. Web workers cannot be unref'd on
   * Deno: such a pool keeps the process alive until `terminate()`.
   */
  workerKind?: "auto" | "node" | "web";
}

/** One task: a function-table op and its i32 arguments (thread 0 = the main thread). */
export interface PoolTask {
  /** Function-table index (e.g. `pool.sgemmOp`). */
  op: number;
  /** i32 arguments (at most MAX_ARGS). */
  args: number[];
}

interface Handle {
  post(m: unknown): void;
  terminate(): void;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** `Atomics.waitAsync` where the engine has it (ES2024; typed loosely for older `lib` settings). */
const waitAsync:
  | ((a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown })
  | undefined = (Atomics as Any).waitAsync?.bind(Atomics);

/** The `node:worker_threads` module when the runtime has one (Node, Deno, Bun), else undefined. */
async function workerThreads(): Promise<Any | undefined> {
  const g = globalThis as Any;
  try {
    const viaBuiltin = g.process?.getBuiltinModule?.("node:worker_threads");
    if (viaBuiltin) return viaBuiltin;
    if (g.process?.versions?.node === undefined) return undefined;
    const spec = "node:worker_threads";
    return await import(spec);
  } catch {
    return undefined;
  }
}

async function hardwareThreads(): Promise<number> {
  const g = globalThis as Any;
  let n = g.navigator?.hardwareConcurrency;
  if (n === undefined && g.process?.versions?.node !== undefined) {
    try {
      const spec = "node:os";
      const os = g.process.getBuiltinModule?.(spec) ?? await import(spec);
      n = os.availableParallelism?.() ?? os.cpus().length;
    } catch {
      n = undefined;
    }
  }
  return typeof n === "number" && n > 0 ? n : 1;
}

/** Messages from workers, shared by the pool and its workers' event handlers. */
interface Health {
  /** Messages of tasks that threw. */
  errors: string[];
  /** Set when a worker died (its "error" event): the pool is unusable from then on. */
  crashed?: string;
}

function sharedMemory(initial: number, maximum: number): WebAssembly.Memory | undefined {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return undefined;
  try {
    const m = new WebAssembly.Memory({ initial, maximum, shared: true });
    return m.buffer instanceof SharedArrayBuffer ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Starts one worker that is unref'd (does not keep the process alive) where the runtime can. */
function spawn(
  wt: Any | undefined,
  onMessage: (m: WorkerMessage) => void,
  onError: (e: unknown) => void,
): Handle {
  if (wt) {
    const w = new wt.Worker(workerSource("node"), { eval: true });
    w.on("message", onMessage);
    w.on("error", onError);
    w.unref(); // after the listeners: adding a "message" listener re-refs the worker
    return { post: (m) => w.postMessage(m), terminate: () => void w.terminate() };
  }
  const url = URL.createObjectURL(new Blob([workerSource("web")], { type: "text/javascript" }));
  const w = new Worker(url, { type: "module" });
  w.onmessage = (e) => onMessage(e.data);
  w.onerror = (e) => onError(e);
  (w as Any).unref?.();
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
}

/**
 * A pool of Wasm workers sharing one memory. Create it with {@link createPool}; allocate operands
 * with `pool.heap`; run GEMMs with {@link parallelSgemm}; end it with `terminate()`.
 */
export class WorkerPool {
  /** The memory every thread's instances use (shared unless the pool is in-process). */
  readonly memory: WebAssembly.Memory;
  /** Allocator for operands in `memory`. */
  readonly heap: WasmHeap;
  /** Whether `memory` is shared (false: single-threaded fallback). */
  readonly shared: boolean;
  /** Minimum FLOPs for a GEMM to be split across threads. */
  readonly minParallelFlops: number;
  /** The micro-kernel configuration of every instance in the pool. */
  readonly config: SgemmConfig;
  /** Function-table op of the sgemm kernel. */
  readonly sgemmOp: number = 0;
  #handles: Handle[];
  #ctl: Int32Array;
  #fns: ((...a: number[]) => unknown)[];
  #names: string[];
  #work: number[];
  #spin: number;
  #tail: Promise<void> = Promise.resolve();
  #busy = false;
  #closed = false;
  #canBlock = true;
  #health: Health;

  /** @internal use {@link createPool}. */
  constructor(
    memory: WebAssembly.Memory,
    heap: WasmHeap,
    handles: Handle[],
    ctl: Int32Array,
    fns: ((...a: number[]) => unknown)[],
    names: string[],
    work: number[],
    opts: { minParallelFlops: number; spin: number; config: SgemmConfig; health: Health },
  ) {
    this.memory = memory;
    this.heap = heap;
    this.shared = typeof SharedArrayBuffer !== "undefined" &&
      memory.buffer instanceof SharedArrayBuffer;
    this.#handles = handles;
    this.#ctl = ctl;
    this.#fns = fns;
    this.#names = names;
    this.#work = work;
    this.minParallelFlops = opts.minParallelFlops;
    this.#spin = opts.spin;
    this.config = opts.config;
    this.#health = opts.health;
  }

  /**
   * The op code of an exported kernel of {@link POOL_MODULES} (e.g. `pool.op("sgemm")`).
   *
   * @example
   * ```ts
   * const pool = await createPool({ workers: 0 });
   * if (pool.op("sgemm") !== pool.sgemmOp) throw new Error("sgemm op");
   * ```
   */
  op(name: string): number {
    const i = this.#names.indexOf(name);
    if (i < 0) throw new RangeError(`pool: no kernel named ${JSON.stringify(name)}`);
    return i;
  }

  /** Number of worker threads (0 when in-process). */
  get workers(): number {
    return this.#handles.length;
  }

  /** Threads taking part in a parallel task: workers + the main thread. */
  get threads(): number {
    return this.#handles.length + 1;
  }

  /** Whether a parallel task is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Byte offset of thread `t`'s private kernel workspace (t = 0 is the main thread). */
  workspace(t: number): number {
    return this.#work[t];
  }

  /** Messages of tasks that threw in workers, oldest first. */
  get errors(): readonly string[] {
    return this.#health.errors;
  }

  #post(i: number, t: PoolTask): number {
    if (t.args.length > MAX_ARGS) {
      throw new RangeError(`pool: at most ${MAX_ARGS} arguments, got ${t.args.length}`);
    }
    const base = i * SLOT_INTS, c = this.#ctl;
    c[base + LAYOUT.op] = t.op;
    c[base + LAYOUT.nargs] = t.args.length;
    for (let k = 0; k < t.args.length; k++) c[base + LAYOUT.args + k] = t.args[k];
    const seq = Atomics.add(c, base + LAYOUT.seq, 1) + 1;
    Atomics.notify(c, base + LAYOUT.seq, 1);
    return seq;
  }

  #check(used: number, seqs: number[], mainError: unknown): void {
    if (mainError !== undefined) throw mainError;
    for (let i = 0; i < used; i++) {
      const st = this.#ctl[i * SLOT_INTS + LAYOUT.status];
      if (st !== 0) {
        throw new Error(
          `pool: task ${seqs[i]} failed in worker ${i} (status ${st})${
            this.#health.errors.length ? `: ${this.#health.errors.at(-1)}` : ""
          }`,
        );
      }
    }
  }

  /**
   * Runs `tasks[0]` on the main thread and `tasks[i]` on worker i−1, resolving when all are done.
   * Waiting: a short Atomics.load spin, then `Atomics.waitAsync` (setTimeout polling where it is
   * missing); a timer keeps Node's event loop alive meanwhile (waitAsync alone does not there).
   */
  async run(tasks: PoolTask[]): Promise<void> {
    this.#assertUsable(tasks);
    if (tasks.length === 1) return void this.#fns[tasks[0].op](...tasks[0].args);
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise((r) => release = r);
    await prev;
    this.#busy = true;
    const keepAlive = setTimeout(() => {}, 1 << 30);
    try {
      const used = tasks.length - 1, seqs: number[] = [];
      for (let i = 0; i < used; i++) seqs.push(this.#post(i, tasks[i + 1]));
      let mainError: unknown;
      try {
        this.#fns[tasks[0].op](...tasks[0].args);
      } catch (e) {
        mainError = e;
      }
      for (let i = 0; i < used; i++) {
        const idx = i * SLOT_INTS + LAYOUT.done;
        for (let s = 0; Atomics.load(this.#ctl, idx) !== seqs[i];) {
          if (s++ < this.#spin) continue;
          const cur = Atomics.load(this.#ctl, idx);
          if (cur === seqs[i]) break;
          if (typeof waitAsync === "function") {
            const r = waitAsync(this.#ctl, idx, cur, 1000);
            if (r.async) await r.value;
          } else await new Promise((r) => setTimeout(r, 0));
          if (this.#health.crashed) throw new Error(`pool: a worker died: ${this.#health.crashed}`);
        }
      }
      this.#check(used, seqs, mainError);
    } finally {
      clearTimeout(keepAlive);
      this.#busy = false;
      release();
    }
  }

  /**
   * Synchronous `run`: the main thread blocks in `Atomics.wait` after its share (allowed on the
   * main thread of Deno, Bun and Node; where it throws, it spins). A single task runs at once on
   * the main thread; several throw while an asynchronous `run` is in flight.
   */
  runSync(tasks: PoolTask[], timeoutMs = Infinity): void {
    this.#assertUsable(tasks);
    if (tasks.length === 1) return void this.#fns[tasks[0].op](...tasks[0].args);
    if (this.#busy) throw new Error("pool: runSync while an asynchronous task is in flight");
    this.#busy = true;
    try {
      const used = tasks.length - 1, seqs: number[] = [];
      for (let i = 0; i < used; i++) seqs.push(this.#post(i, tasks[i + 1]));
      let mainError: unknown;
      try {
        this.#fns[tasks[0].op](...tasks[0].args);
      } catch (e) {
        mainError = e;
      }
      const deadline = performance.now() + timeoutMs;
      for (let i = 0; i < used; i++) {
        const idx = i * SLOT_INTS + LAYOUT.done;
        for (let s = 0; Atomics.load(this.#ctl, idx) !== seqs[i];) {
          // NOTE: a worker that died never answers, and its exit event cannot arrive while this
          // thread blocks; past the deadline the pool is marked crashed so the caller can replace it
          if ((s & 1023) === 0 && performance.now() > deadline) {
            this.#health.crashed = `worker ${i} did not finish its task within ${
              Math.round(timeoutMs)
            } ms`;
            throw new Error(`pool: ${this.#health.crashed}`);
          }
          if (s++ < this.#spin || !this.#canBlock) continue;
          const cur = Atomics.load(this.#ctl, idx);
          if (cur === seqs[i]) break;
          try {
            Atomics.wait(this.#ctl, idx, cur, 100);
          } catch {
            this.#canBlock = false;
          }
        }
      }
      this.#check(used, seqs, mainError);
    } finally {
      this.#busy = false;
    }
  }

  /** True once a worker died or stopped answering (the pool then refuses work). */
  get crashed(): boolean {
    return this.#health.crashed !== undefined;
  }

  /** @internal Test hook: stops worker `i` abruptly, as a crash would. */
  _killWorker(i: number): void {
    this.#handles[i].terminate();
  }

  #assertUsable(tasks: PoolTask[]): void {
    if (this.#closed) throw new Error("pool: the pool has been terminated");
    if (this.#health.crashed) throw new Error(`pool: a worker died: ${this.#health.crashed}`);
    if (tasks.length < 1 || tasks.length > this.threads) {
      throw new RangeError(`pool: expected 1 to ${this.threads} tasks, got ${tasks.length}`);
    }
  }

  /**
   * Stops the workers (a stop op through the control block, then `terminate()`); later calls
   * throw. Not required before exit: workers never keep the process alive.
   */
  async terminate(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
    for (let i = 0; i < this.#handles.length; i++) this.#post(i, { op: OP_STOP, args: [] });
    for (const h of this.#handles) h.terminate();
    this.#handles = [];
  }
}

/** Starts `n` workers on the shared memory; resolves when each reports ready, rejects if one fails. */
async function startWorkers(
  n: number,
  wt: Any | undefined,
  init: Omit<WorkerInit, "slot">,
  health: Health,
  handles: Handle[],
  opts: PoolOptions,
): Promise<void> {
  const ready: Promise<void>[] = [];
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, rej) => fail = rej);
  for (let slot = 0; slot < n; slot++) {
    let ok!: () => void;
    ready.push(new Promise((r) => ok = r));
    const h = spawn(wt, (m) => {
      if (m.type === "ready") ok();
      else health.errors.push(m.message);
    }, (e) => {
      health.crashed = String((e as { message?: unknown })?.message ?? e);
      fail(e);
    });
    handles.push(h);
    h.post({ ...init, slot });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(
      () => rej(new Error("pool: workers did not start")),
      opts.startTimeoutMs ?? 15000,
    );
  });
  try {
    await Promise.race([Promise.all(ready), failed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Creates a pool: a shared memory, `workers` threads (unref'd) each instantiating the sgemm
 * module on it, and the same module on the main thread. Falls back to an in-process pool (no
 * workers, non-shared memory) when shared memory or workers are unavailable.
 *
 * Worker start-up: `node:worker_threads` eval workers where the runtime provides that module
 * (Node, Deno, Bun) because only those can be `unref()`'d everywhere (a Deno web Worker keeps the
 * process alive and its `terminate()` cannot interrupt `Atomics.wait`); otherwise a Worker from
 * a Blob URL (browsers). Workers never keep the process alive; `terminate()` is optional.
 *
 * @example
 * ```ts
 * const pool = await createPool({ workers: 1 });
 * if (pool.threads < 1) throw new Error("no threads"); // 2, or 1 where threads are unavailable
 * await pool.terminate();
 * ```
 */
export async function createPool(opts: PoolOptions = {}): Promise<WorkerPool> {
  const config = opts.config ?? SGEMM_CONFIG;
  const ws = sgemmWorkspaceBytes(config);
  let nWorkers = Math.max(0, Math.floor(opts.workers ?? (await hardwareThreads()) - 1));
  const maximum = opts.maximumPages ?? 65536;
  const pagesFor = (threads: number) =>
    opts.initialPages ?? Math.ceil((64 + threads * ws + (16 << 20)) / 65536);
  let memory = nWorkers > 0 ? sharedMemory(pagesFor(nWorkers + 1), maximum) : undefined;
  const kind = opts.workerKind ?? "auto";
  const wt = memory && kind !== "web" ? await workerThreads() : undefined;
  if (!memory || (!wt && (kind === "node" || typeof Worker === "undefined"))) {
    nWorkers = 0;
    memory = new WebAssembly.Memory({ initial: pagesFor(1), maximum });
  }
  const shared = nWorkers > 0;
  const work = Array.from({ length: nWorkers + 1 }, (_, t) => 64 + t * ws);
  const heap = new WasmHeap(memory, 64 + (nWorkers + 1) * ws);
  const modules = POOL_MODULES.map((m) => m.build(shared, config));
  const table = poolTable();
  const instances = modules.map((b) =>
    new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource), { env: { memory } })
  );
  const fns = table.map(([m, name]) => instances[m].exports[name] as (...a: number[]) => unknown);
  const control = shared
    ? new SharedArrayBuffer(Math.max(1, nWorkers) * SLOT_INTS * 4)
    : new ArrayBuffer(4);
  const ctl = new Int32Array(control);
  const minParallelFlops = opts.minParallelFlops ?? 2 ** 23;
  const spin = opts.spin ?? 2000;
  const health: Health = { errors: [] };
  const handles: Handle[] = [];
  if (shared) {
    const sab = control as SharedArrayBuffer;
    const init = { memory, control: sab, layout: LAYOUT, slotInts: SLOT_INTS, stop: OP_STOP };
    try {
      await startWorkers(nWorkers, wt, { ...init, modules, table, spin }, health, handles, opts);
    } catch {
      for (const h of handles) h.terminate();
      return createPool({ ...opts, workers: 0 });
    }
  }
  return new WorkerPool(memory, heap, handles, ctl, fns, table.map((t) => t[1]), work, {
    minParallelFlops,
    spin,
    config,
    health,
  });
}

let defaultPool: Promise<WorkerPool> | undefined;

/**
 * The process-wide pool, created on first use with default options.
 *
 * @example
 * ```ts
 * const pool = await getDefaultPool();
 * if (pool.threads < 1) throw new Error("no threads");
 * ```
 */
export function getDefaultPool(): Promise<WorkerPool> {
  return defaultPool ??= createPool();
}

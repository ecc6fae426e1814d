// The worker side of the pool. `workerMain` is self-contained (it references nothing outside its own
// body), so the pool starts workers from its source text (`workerSource`): nothing to bundle or
// resolve next to the bundle, one code path for Deno, Bun, Node (eval workers) and browsers (Blob).

/** Int32 slots of one worker's control block in the shared control buffer (128 bytes apart). */
export const SLOT_INTS = 32;
/** Indices of the fields of a worker's control block (inside its slot). */
export interface ControlLayout {
  /** Task counter, bumped by the main thread to post a task. */
  seq: number;
  /** Seq of the last finished task, set by the worker. */
  done: number;
  /** Outcome of the last task: 0 ok, 1 threw, 2 unknown op. */
  status: number;
  /** Function-table index of the task, or OP_STOP. */
  op: number;
  /** Number of i32 arguments. */
  nargs: number;
  /** Index of the first argument. */
  args: number;
}
/** Control-block layout (indices inside a slot). */
export const LAYOUT: Readonly<ControlLayout> = Object.freeze({
  /** Bumped by the main thread to post a task. */
  seq: 0,
  /** Set to the task's seq by the worker when it is finished. */
  done: 1,
  /** 0 ok, 1 the call threw (message posted separately), 2 unknown op. */
  status: 2,
  /** Function-table index of the task, or OP_STOP. */
  op: 3,
  /** Number of i32 arguments. */
  nargs: 4,
  /** First argument; up to MAX_ARGS follow. */
  args: 8,
});
/** Most i32 arguments a task can carry. */
export const MAX_ARGS = 24;
/** Op code that ends the worker loop. */
export const OP_STOP: number = -1;

/** What the pool sends a worker once, right after starting it. */
export interface WorkerInit {
  /** The shared memory every instance imports as `env.memory`. */
  memory: WebAssembly.Memory;
  /** Control blocks of all workers. */
  control: SharedArrayBuffer;
  /** This worker's slot in `control`. */
  slot: number;
  /** Field indices inside a slot. */
  layout: Readonly<ControlLayout>;
  /** Int32s per slot. */
  slotInts: number;
  /** The op that ends the loop. */
  stop: number;
  /** Module binaries, instantiated with `{ env: { memory } }`. */
  modules: Uint8Array[];
  /** The function table: [module index, export name] per op code. */
  table: [number, string][];
  /** Atomics.load polls before sleeping in Atomics.wait. */
  spin: number;
}

/** Messages a worker posts: `ready` once, `error` when a task threw. */
export type WorkerMessage =
  | { type: "ready"; slot: number }
  | { type: "error"; slot: number; seq: number; message: string };

/**
 * The worker's whole life: instantiate the modules on the shared memory, post `ready`, then
 * loop — sleep in `Atomics.wait` on `seq`, run the task, publish `done` and `Atomics.notify`.
 * Must stay free of references to anything outside its body (it is shipped as source text).
 *
 * @example
 * ```ts
 * // run by the pool inside a worker (from its source text); not called directly
 * if (!workerSource("node").includes("Atomics.wait")) throw new Error("no task loop");
 * ```
 */
export function workerMain(init: WorkerInit, post: (m: WorkerMessage) => void): void {
  const L = init.layout;
  const ctl = new Int32Array(init.control, init.slot * init.slotInts * 4, init.slotInts);
  const imports = { env: { memory: init.memory } };
  const instances = init.modules.map((b) =>
    new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource), imports)
  );
  const fns = init.table.map(([m, name]) =>
    instances[m].exports[name] as (...a: number[]) => unknown
  );
  const args: number[] = [];
  let seq = Atomics.load(ctl, L.seq); // before "ready": the first task may follow at once
  post({ type: "ready", slot: init.slot });
  for (;;) {
    let s = Atomics.load(ctl, L.seq);
    for (let i = 0; s === seq && i < init.spin; i++) s = Atomics.load(ctl, L.seq);
    while (s === seq) {
      Atomics.wait(ctl, L.seq, seq);
      s = Atomics.load(ctl, L.seq);
    }
    seq = s;
    const op = ctl[L.op];
    if (op === init.stop) {
      Atomics.store(ctl, L.done, seq);
      Atomics.notify(ctl, L.done);
      return;
    }
    let status = 0;
    const fn = fns[op];
    if (fn === undefined) status = 2;
    else {
      args.length = ctl[L.nargs];
      for (let i = 0; i < args.length; i++) args[i] = ctl[L.args + i];
      try {
        fn(...args);
      } catch (e) {
        status = 1;
        post({ type: "error", slot: init.slot, seq, message: String(e) });
      }
    }
    ctl[L.status] = status;
    Atomics.store(ctl, L.done, seq);
    Atomics.notify(ctl, L.done);
  }
}

/**
 * JavaScript source of a worker: `"node"` for `node:worker_threads` eval workers (Node, Deno and
 * Bun all provide `require` there), `"web"` for a module/classic Worker started from a Blob URL.
 *
 * @example
 * ```ts
 * if (!workerSource("web").includes("self.onmessage")) throw new Error("not a web worker");
 * ```
 */
export function workerSource(kind: "node" | "web"): string {
  const main = `(${workerMain.toString()})`;
  if (kind === "node") {
    return `"use strict";
const { parentPort } = require("node:worker_threads");
parentPort.once("message", (init) => ${main}(init, (m) => parentPort.postMessage(m)));
`;
  }
  return `"use strict";
self.onmessage = (e) => {
  self.onmessage = null;
  ${main}(e.data, (m) => self.postMessage(m));
  self.close();
};
`;
}

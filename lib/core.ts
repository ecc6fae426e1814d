/**
 * The trace stack and `bind`: autodidax's interpreter model with dynamic levels (omnistaging).
 * Every primitive application goes through `bind`, which picks the innermost active trace among
 * the arguments and lets it process the op. Level 0 is the eval trace (concrete arrays).
 * @module
 */
import {
  BYTES,
  type DType,
  hostRound,
  isComplex,
  realPart,
  roundHostOutputs,
  storageAval,
  type TypedArray,
} from "./dtype.ts";
import { Tensor } from "./tensor.ts";
import type { Aval, OpDef } from "./ops/_define.ts";
import { type Backend, getBackend, pickBackend } from "./backend/backend.ts";
import { allocating, checkAllocation, sizeOf } from "./shape.ts";

/** One entry of the trace stack. */
export interface MainTrace {
  readonly level: number;
  trace: Trace;
  active: boolean;
  readonly kind: string;
}

/** An interpreter: lifts foreign values into its tracers and processes primitives. */
export abstract class Trace {
  /** The stack entry this trace belongs to. */
  readonly main: MainTrace;
  constructor(main: MainTrace) {
    this.main = main;
  }
  /** Wraps a value from a lower level as one of this trace's tracers. */
  abstract lift(x: Tensor): Tensor;
  /** Applies `op` to tracers of this trace. */
  abstract process(op: OpDef, tracers: Tensor[], params: unknown, outAvals: Aval[]): Tensor[];
}

/** Concrete arrays: evaluates ops on the backend their arguments pick (see `onOneBackend`). */
class EvalTrace extends Trace {
  lift(x: Tensor): Tensor {
    return x;
  }
  process(op: OpDef, args: Tensor[], params: unknown, outAvals: Aval[]): Tensor[] {
    const complex = anyComplex(args, outAvals);
    // ops with their own evaluation run it, unless a complexRule lowers their complex operands
    if (op.evalImpl && !(complex && op.complexRule)) return op.evalImpl(args, params);
    for (const a of outAvals) checkAllocation(op.name, a.shape, a.dtype);
    if (complex) return evalComplex(op, args as ArrayValue[], params, outAvals);
    const xs = args as ArrayValue[], b0 = xs.length ? xs[0].backend : undefined;
    let same = b0 !== undefined;
    for (let i = 1; same && i < xs.length; i++) same = xs[i].backend === b0;
    // arguments on one backend (the common case) run without onOneBackend's closure
    if (same) return executeOn(b0!, op, params, xs, outAvals);
    return onOneBackend(xs, [], (backend, ys) => executeOn(backend, op, params, ys, outAvals));
  }
}

function executeOn(
  backend: Backend,
  op: OpDef,
  params: unknown,
  xs: ArrayValue[],
  outAvals: Aval[],
): Tensor[] {
  let bufs: unknown[];
  try {
    bufs = backend.execute(op, params, xs, outAvals);
  } catch (e) {
    return allocating(op.name, outAvals, () => { // names the op and shapes if `e` is an OOM
      throw e;
    });
  }
  const outs: Tensor[] = new Array(bufs.length);
  for (let i = 0; i < bufs.length; i++) outs[i] = new ArrayValue(bufs[i], outAvals[i], backend);
  return outs;
}

/** True when an operand or a result is complex (checked without allocating: every eager op asks). */
function anyComplex(args: Tensor[], outAvals: Aval[]): boolean {
  for (const a of args) if (isComplex(a.aval.dtype)) return true;
  for (const a of outAvals) if (isComplex(a.dtype)) return true;
  return false;
}

/** Runs an op with complex operands or results as its `complexRule` on storage views. */
function evalComplex(op: OpDef, args: ArrayValue[], params: unknown, outAvals: Aval[]): Tensor[] {
  if (!op.complexRule) {
    throw new TypeError(`${op.name}: complex results are not supported`);
  }
  const views = args.map(storageView);
  const outs = op.complexRule(views, params, args.map((a) => a.aval), outAvals);
  return outs.map((o, i) => fromStorage(o as ArrayValue, outAvals[i], views, args));
}

/**
 * @internal The storage view of a concrete array (see `storageAval`): the same buffer, not owned
 * (disposing the view frees nothing). Real arrays are returned as they are.
 */
export function storageView(x: ArrayValue): ArrayValue {
  if (!isComplex(x.aval.dtype)) return x;
  return new ArrayValue(x.buffer, storageAval(x.aval), x.backend, false);
}

/**
 * @internal The array of `aval` whose storage view is `o`: `originals[k]` when `o` is `views[k]`,
 * else `o`'s buffer, whose ownership moves to the result (for complex `aval`).
 */
export function fromStorage(
  o: ArrayValue,
  aval: Aval,
  views: readonly Tensor[],
  originals: readonly Tensor[],
): ArrayValue {
  const k = views.indexOf(o);
  if (k >= 0) return originals[k] as ArrayValue;
  if (!isComplex(aval.dtype)) return o;
  if (!o._owned) throw new TypeError(`complex: internal error: a result aliases a view`);
  return new ArrayValue(o._release(), aval, o.backend);
}

/**
 * Calls `fn` with `args` on one backend: the one `pickBackend` (backend.ts) chooses among the
 * backends of `args` and of `also` (arrays the callee reads itself, e.g. a program's constants).
 * Arguments on other backends are copied to it (read synchronously, then `fromHost`), and the
 * copies are disposed after `fn` unless returned. The only place mixed-backend arguments move.
 */
export function onOneBackend(
  args: ArrayValue[],
  also: readonly Tensor[],
  fn: (backend: Backend, args: ArrayValue[]) => Tensor[],
): Tensor[] {
  const first = args.length ? args[0].backend : undefined;
  if (first && also.length === 0 && args.every((x) => x.backend === first)) return fn(first, args);
  const used: Backend[] = [];
  for (const x of [...args, ...also]) {
    if (x instanceof ArrayValue && !used.includes(x.backend)) used.push(x.backend);
  }
  const backend = pickBackend(used);
  const moved: ArrayValue[] = [];
  const xs = args.map((x) => {
    if (x.backend === backend) return x;
    const st = storageAval(x.aval);
    const buf = backend.fromHost(x.backend.readSync(x.buffer, st), st.dtype);
    const m = new ArrayValue(buf, x.aval, backend);
    moved.push(m);
    return m;
  });
  let outs: Tensor[] = [];
  try {
    return outs = fn(backend, xs);
  } finally {
    for (const m of moved) if (!outs.includes(m)) m.dispose();
  }
}

const evalMain: MainTrace = {
  level: 0,
  trace: undefined as unknown as Trace,
  active: true,
  kind: "eval",
};
evalMain.trace = new EvalTrace(evalMain);
const stack: MainTrace[] = [evalMain];
/** The trace that receives ops whose arguments are all from lower levels (JAX's dynamic trace). */
let dynamicMain: MainTrace = evalMain;

/**
 * Pushes a new trace of `kind`, runs `fn`, and pops it (even on error). A `dynamic` trace (jit
 * staging) also receives ops on constants, so they are staged instead of computed at trace time.
 */
export function withMain<R>(
  kind: string,
  make: (m: MainTrace) => Trace,
  fn: (trace: Trace) => R,
  dynamic = false,
): R {
  const main: MainTrace = {
    level: stack.length,
    trace: undefined as unknown as Trace,
    active: true,
    kind,
  };
  main.trace = make(main);
  stack.push(main);
  const prevDynamic = dynamicMain;
  if (dynamic) dynamicMain = main;
  try {
    return fn(main.trace);
  } finally {
    stack.pop();
    dynamicMain = prevDynamic;
    main.active = false;
  }
}

/** True when no dynamic (jit staging) trace is active, so ops on constants evaluate at once. */
export function stagingConstants(): boolean {
  return dynamicMain !== evalMain;
}

/** The innermost trace currently on the stack. */
export function currentLevel(): number {
  return stack.length - 1;
}

/** Applies a primitive: shape inference at the call, then the innermost trace processes it. */
export function bind(op: OpDef, args: Tensor[], params: unknown = {}): Tensor[] {
  if (!op.complexRule && !op.callJaxpr && args.some((a) => isComplex(a.aval.dtype))) {
    throw new TypeError(
      `${op.name}: complex operands are not supported (got ${
        args.map((a) => a.aval.dtype).join(", ")
      })`,
    );
  }
  const outAvals = op.abstractEval(args.map((a) => a.aval), params);
  let top = dynamicMain;
  for (const a of args) {
    const m = a._main;
    if (!m.active) {
      throw new TypeError(
        `${op.name}: a traced Tensor escaped the transform that created it (it was used after ` +
          `its ${m.kind} trace ended); return it from the transformed function instead`,
      );
    }
    if (m.level > top.level) top = m;
  }
  const trace = top.trace;
  if (top === evalMain) return trace.process(op, args, params, outAvals); // nothing to lift
  const tracers = args.map((a) => (a._main === top ? a : trace.lift(a)));
  return trace.process(op, tracers, params, outAvals);
}

/** `bind` for single-output ops. */
export function bind1(op: OpDef, args: Tensor[], params: unknown = {}): Tensor {
  return bind(op, args, params)[0];
}

const registry = typeof FinalizationRegistry === "undefined"
  ? undefined
  : new FinalizationRegistry<{ backend: Backend; buf: unknown }>((h) => h.backend.free(h.buf));

/** Live-array accounting, off until {@linkcode trackLiveArrays} turns it on (soak tests). */
const live = { count: 0, bytes: 0 };
let liveRegistry: FinalizationRegistry<number> | undefined;

/**
 * @internal Starts counting concrete arrays that are alive (created, neither disposed nor
 * collected yet) and returns a reader of the count and their bytes. Collected arrays are
 * subtracted when their finalizers run, i.e. after a garbage collection and a turn of the event
 * loop; arrays created before the call are not counted.
 */
export function trackLiveArrays(): () => { count: number; bytes: number } {
  liveRegistry ??= new FinalizationRegistry<number>((bytes) => {
    live.count--;
    live.bytes -= bytes;
  });
  return () => ({ ...live });
}

/** An open ownership scope (see {@linkcode withScope}): the owned arrays created inside it. */
interface Scope {
  arrays: ArrayValue[];
  /** Track arrays of every backend (else only those whose buffers need `free`: device memory). */
  all: boolean;
}
let scope: Scope | undefined;

/**
 * @internal Runs `fn` in an ownership scope. Owned arrays created meanwhile (on backends that are
 * not garbage-collected, or on all with `all`) are disposed when `fn` returns, except those listed
 * by `keep(result)`, views' owners of kept arrays, pinned ones and escaped ones (constants of a
 * staged program, see {@linkcode escapeScopes}); kept arrays join the enclosing scope, as does
 * everything when `fn` throws. `reason` names who released them in the use-after-release error.
 */
export function withScope<R>(
  fn: () => R,
  keep: (r: R) => readonly unknown[],
  reason: string,
  all = false,
): R {
  const parent = scope, s: Scope = { arrays: [], all: all || (parent?.all ?? false) };
  scope = s;
  let r: R;
  try {
    r = fn();
  } catch (e) {
    scope = parent;
    parent?.arrays.push(...s.arrays);
    throw e;
  }
  scope = parent;
  if (s.arrays.length) endScope(s.arrays, keep(r), parent, reason);
  return r;
}

function endScope(
  arrays: ArrayValue[],
  kept: readonly unknown[],
  parent: Scope | undefined,
  why: string,
) {
  const keepSet = new Set<unknown>();
  for (const k of kept) {
    if (k instanceof ArrayValue) keepSet.add(k).add(k._bufferOrUndefined);
  }
  for (const a of arrays) {
    const b = a._bufferOrUndefined;
    if (b === undefined || a._escaped) continue;
    if (keepSet.has(a) || keepSet.has(b)) parent?.arrays.push(a);
    else a._releasedBy(why);
  }
}

let eagerScopesOn = true;
/** @internal Whether eager transform calls run in scopes (see `withScope`); on by default. */
export function eagerScopes(): boolean {
  return eagerScopesOn;
}
/** @internal Turns the scopes of eager transform calls off (a benchmark's baseline) or on. */
export function setEagerScopes(on: boolean): void {
  eagerScopesOn = on;
}

/**
 * @internal Marks concrete arrays as held beyond any open scope (e.g. constants of a program that
 * a cache keeps): scopes never dispose them; the garbage collector frees them as before.
 */
export function escapeScopes(ts: readonly unknown[]): void {
  if (scope === undefined) return;
  for (const t of ts) if (t instanceof ArrayValue) t._escaped = true;
}

/** A concrete array: a buffer on a backend. */
export class ArrayValue extends Tensor {
  #buf: unknown;
  #aval: Aval;
  /** The backend that owns the buffer. */
  readonly backend: Backend;
  #owned: boolean;
  /** A buffer of `backend` holding `aval`; `owned: false` makes a view that never frees it. */
  constructor(buf: unknown, aval: Aval, backend: Backend, owned = true) {
    super();
    this.#buf = buf;
    this.#aval = aval;
    this.backend = backend;
    this.#owned = owned;
    if (!owned) return;
    if (scope !== undefined && (scope.all || !backend.gcManaged)) scope.arrays.push(this);
    // NOTE: the registry's held value keeps `buf` alive until its callback runs (after the event
    // loop turns), so host-memory backends are left to the garbage collector alone.
    if (!backend.gcManaged) registry?.register(this, { backend, buf }, this);
    if (liveRegistry) {
      const bytes = sizeOf(aval.shape) * BYTES[aval.dtype];
      live.count++;
      live.bytes += bytes;
      liveRegistry.register(this, bytes, this.#live = {});
    }
  }
  #live: object | undefined;
  #pinned = false;
  #releasedBy: string | undefined;
  /** @internal Held beyond the scopes open at its creation (see `escapeScopes`). */
  _escaped = false;
  /** @internal Makes `dispose()` a no-op: for arrays shared by a cache (e.g. constants). */
  _pin(): this {
    this.#pinned = true;
    this._escaped = true;
    return this;
  }
  /** @internal The buffer, or undefined once disposed (no error). */
  get _bufferOrUndefined(): unknown {
    return this.#buf;
  }
  /** @internal Disposes it at the end of a scope; later uses name `why` in their error. */
  _releasedBy(why: string): void {
    this.#releasedBy = why;
    this.dispose();
  }
  get aval(): Aval {
    return this.#aval;
  }
  get _main(): MainTrace {
    return evalMain;
  }
  /** The backend buffer; throws after dispose. */
  get buffer(): unknown {
    if (this.#buf === undefined) {
      const shape = JSON.stringify(this.shape);
      throw new TypeError(
        this.#releasedBy === undefined
          ? `Tensor: used after dispose() (shape ${shape})`
          : `Tensor: used after ${this.#releasedBy} released it (shape ${shape}): an array created inside ${this.#releasedBy}'s call and not returned by it is freed when the call returns; return it (e.g. as aux with hasAux) to keep it`,
      );
    }
    return this.#buf;
  }
  override _concrete(): ArrayValue {
    return this;
  }
  override _coercible(): boolean {
    return true;
  }
  override dispose(): void {
    if (this.#pinned) return;
    const owned = this.#owned;
    const buf = this._release();
    if (buf !== undefined && owned) this.backend.free(buf);
  }
  /** @internal True when this array frees its buffer (false for views and released arrays). */
  get _owned(): boolean {
    return this.#owned && this.#buf !== undefined;
  }
  /**
   * @internal Detaches the buffer and returns it without freeing it (the caller now owns it; see
   * `fromStorage`). A view returns its buffer but never owned it.
   */
  _release(): unknown {
    const buf = this.#buf;
    this.#buf = undefined;
    if (buf === undefined || !this.#owned) return buf;
    if (!this.backend.gcManaged) registry?.unregister(this);
    if (this.#live && liveRegistry?.unregister(this.#live)) {
      live.count--;
      live.bytes -= sizeOf(this.#aval.shape) * BYTES[this.#aval.dtype];
    }
    this.#owned = false;
    return buf;
  }
}

/** Makes a concrete array from host data (copied by the backend). */
export function fromHost(
  data: TypedArray,
  shape: number[],
  dtype: DType,
  weak = false,
): ArrayValue {
  if (data.length !== sizeOf(shape) * (isComplex(dtype) ? 2 : 1)) {
    throw new TypeError(`array: ${data.length} values do not fill shape [${shape.join(",")}]`);
  }
  // a dtype kept in a wider host array (bfloat16) holds only its own values, however data was filled
  if (hostRound(dtype)) data = roundHostOutputs([Float32Array.from(data)], [dtype])[0];
  const backend = getBackend();
  return new ArrayValue(backend.fromHost(data, realPart(dtype)), { shape, dtype, weak }, backend);
}

/**
 * The backend interface (buffers, eager ops, jitted programs), the default backend, and the rule
 * that picks one backend for arguments living on several. `reference` is the test oracle.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import type { Aval, OpDef } from "../ops/_define.ts";
import type { ArrayValue } from "../core.ts";
import type { Jaxpr } from "../ir.ts";

/** What a backend must provide. Buffers are opaque to everything but their backend. */
export interface Backend {
  /** Name used by `setBackend`. */
  readonly name: string;
  /** Copies host data of `dtype` into a new buffer. */
  fromHost(data: TypedArray, dtype: DType): unknown;
  /** Reads a buffer back (a fresh copy). */
  read(buf: unknown, aval: Aval): Promise<TypedArray>;
  /** Reads a buffer synchronously, or throws a TypeError naming `await t.data()`. */
  readSync(buf: unknown, aval: Aval): TypedArray;
  /** Runs one primitive on arrays of this backend; returns one buffer per output. */
  execute(op: OpDef, params: unknown, inputs: ArrayValue[], outAvals: Aval[]): unknown[];
  /**
   * Runs a jitted program (the body of a `jit` equation) on arguments of this backend; returns one
   * buffer per output. The jaxpr's constants are concrete arrays on any backend. Without it,
   * programs run equation by equation through `execute`.
   */
  runProgram?(jaxpr: Jaxpr, args: ArrayValue[]): unknown[];
  /**
   * Compiles a program holding no loops or complex values for repeated calls on raw buffers of
   * this backend (a loop body): `run(inputs, dests)` returns one buffer per output, output k
   * written into `dests[k]` when given (dests share memory with no input and no other dest).
   * Without it, loops run their body through `runProgram`.
   */
  programRunner?(jaxpr: Jaxpr): (inputs: unknown[], dests?: (unknown | undefined)[]) => unknown[];
  /**
   * Runs `fn`, joining the device work it records (e.g. every iteration of a loop) into one
   * submission. Without it, each program call submits its own work.
   */
  batch?<T>(fn: () => T): T;
  /** The listing of `jaxpr` as this backend would run it (`jit(f).lower(...).asText()`). */
  describeProgram?(jaxpr: Jaxpr): string;
  /** Releases a buffer. */
  free(buf: unknown): void;
  /** True when a buffer can no longer be used (its device was lost); absent: never. */
  isLost?(buf: unknown): boolean;
  /** True when buffers are plain JS memory reclaimed by the garbage collector (no `free` needed). */
  readonly gcManaged?: boolean;
  /**
   * True when buffers live in device memory that can only be read asynchronously (WebGPU): host
   * arrays can be moved to such a backend at once, arrays on it cannot be moved away.
   */
  readonly deviceMemory?: boolean;
}

const backends = new Map<string, Backend>();
let current: Backend | undefined;

/** Makes a backend available to `setBackend`. The first one registered becomes the default. */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
  current ??= b;
}

/** Selects the default backend for new arrays. */
export function setBackendImpl(name: string): void {
  const b = backends.get(name);
  if (!b) {
    throw new RangeError(
      `setBackend: unknown backend ${JSON.stringify(name)}; available: ${
        [...backends.keys()].join(", ")
      }`,
    );
  }
  current = b;
}

/** The default backend. */
export function getBackend(): Backend {
  if (!current) throw new TypeError("getBackend: no backend is registered");
  return current;
}

/** Names of the registered backends. */
export function backendNames(): string[] {
  return [...backends.keys()];
}

/**
 * The backend that runs an op or a program whose arrays live on `used` (in argument order): the
 * default backend when there are none; else the default backend if it holds one of them, else
 * the first argument's. Device-memory backends (WebGPU) come first: when one holds an argument,
 * only they are candidates, because host arrays move to the device synchronously but not back.
 * Every other argument is then moved to the chosen backend (see `placeArrays` in core.ts).
 */
export function pickBackend(used: readonly Backend[]): Backend {
  const dflt = getBackend();
  if (used.length === 0) return dflt;
  const device = used.filter((b) => b.deviceMemory);
  const candidates = device.length ? device : used;
  return candidates.includes(dflt) ? dflt : candidates[0];
}

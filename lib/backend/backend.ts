/**
 * The backend interface (alloc, read, execute, free) and the selection of the default backend.
 * Backends register themselves; `reference` is always present and is the test oracle.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import type { Aval, OpDef } from "../ops/_define.ts";
import type { ArrayValue } from "../core.ts";

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
  /** Runs one primitive; returns one buffer per output. */
  execute(op: OpDef, params: unknown, inputs: ArrayValue[], outAvals: Aval[]): unknown[];
  /** Releases a buffer. */
  free(buf: unknown): void;
  /** True when buffers are plain JS memory reclaimed by the garbage collector (no `free` needed). */
  readonly gcManaged?: boolean;
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

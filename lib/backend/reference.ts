/**
 * The reference backend: plain TypeScript over typed arrays, simple and obviously correct.
 * Every op runs its `impl` rule, computing in float64 and rounding on store. It is the oracle
 * that faster backends are tested against.
 * @module
 */
import { type DType, roundHostOutputs, type TypedArray } from "../dtype.ts";
import { copyHost } from "../host_alloc.ts";
import type { Aval, OpDef } from "../ops/_define.ts";
import type { ArrayValue } from "../core.ts";
import { type Backend, registerBackend } from "./backend.ts";

/** Buffer handling of backends whose buffers are plain host typed arrays. */
export const hostBuffers: Pick<Backend, "gcManaged" | "fromHost" | "read" | "readSync" | "free"> = {
  gcManaged: true,
  fromHost(data: TypedArray, dtype: DType): unknown {
    return copyHost(data, dtype);
  },
  read(buf: unknown): Promise<TypedArray> {
    return Promise.resolve((buf as TypedArray).slice());
  },
  readSync(buf: unknown): TypedArray {
    return (buf as TypedArray).slice();
  },
  free(): void {},
};

/** The reference backend instance. */
export const referenceBackend: Backend = {
  name: "reference",
  ...hostBuffers,
  execute(op: OpDef, params: unknown, inputs: ArrayValue[], outAvals: Aval[]): unknown[] {
    const host = inputs.map((x) => ({
      data:
        (x.backend === referenceBackend
          ? x.buffer
          : x.backend.readSync(x.buffer, x.aval)) as TypedArray,
      shape: x.aval.shape,
      dtype: x.aval.dtype,
    }));
    return roundHostOutputs(op.impl(host, params, outAvals), outAvals.map((a) => a.dtype));
  },
};

registerBackend(referenceBackend);

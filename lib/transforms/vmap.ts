/**
 * Batching: tracers carry (value, batch dim or null); each op's `vmap` rule maps them. Ops whose
 * operands are all unbatched run unchanged.
 * @module
 */
import { type ArrayValue, bind, type MainTrace, Trace, withMain } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { Aval, BDim, OpDef } from "../ops/_define.ts";
import { batchAt0, moveAxis } from "../ops/_util.ts";

/** A batched value with its batch dimension. */
export class BatchTracer extends Tensor {
  readonly #trace: BatchTrace;
  /** The value including the batch axis. */
  readonly val: Tensor;
  /** Where the batch axis is, or null when the value is the same for every example. */
  readonly bdim: BDim;
  constructor(trace: BatchTrace, val: Tensor, bdim: BDim) {
    super();
    this.#trace = trace;
    this.val = val;
    this.bdim = bdim;
  }
  get aval(): Aval {
    const a = this.val.aval;
    return this.bdim === null ? a : { ...a, shape: a.shape.filter((_, i) => i !== this.bdim) };
  }
  get _main(): MainTrace {
    return this.#trace.main;
  }
  _concrete(): ArrayValue {
    throw new TypeError(
      `vmap: cannot read the values of a batched Tensor (shape [${
        this.aval.shape.join(",")
      }]) inside vmap; ` +
        "return it from the mapped function instead",
    );
  }
}

/** The batching interpreter. */
export class BatchTrace extends Trace {
  /** Size of the mapped axis. */
  axisSize = 0;
  lift(x: Tensor): Tensor {
    return new BatchTracer(this, x, null);
  }
  process(op: OpDef, tracers: Tensor[], params: unknown): Tensor[] {
    const vals = tracers.map((t) => (t as BatchTracer).val);
    const bdims = tracers.map((t) => (t as BatchTracer).bdim);
    if (bdims.every((b) => b === null)) {
      return bind(op, vals, params).map((v) => new BatchTracer(this, v, null));
    }
    const [outs, obd] = op.vmap(vals, bdims, params, this.axisSize);
    return outs.map((o, i) => new BatchTracer(this, o, obd[i]));
  }
}

/** Maps flat `f` over axis `inDims[i]` of each argument (null = unmapped); outputs batched at `outDims`. */
export function vmapFlat(
  f: (xs: Tensor[]) => Tensor[],
  args: Tensor[],
  inDims: BDim[],
  outDims: BDim[] | BDim,
  axisSize: number,
): Tensor[] {
  return withMain("vmap", (m) => new BatchTrace(m), (trace) => {
    const bt = trace as BatchTrace;
    bt.axisSize = axisSize;
    const outs = f(args.map((a, i) => new BatchTracer(bt, a, inDims[i])));
    return outs.map((o, i) => {
      const od = Array.isArray(outDims) ? outDims[i] : outDims;
      const [val, bd] = o instanceof BatchTracer && o._main === trace.main
        ? [o.val, o.bdim]
        : [o, null];
      if (od === null) {
        if (bd !== null) {
          throw new TypeError(`vmap: output ${i} is batched but its outAxes entry is null`);
        }
        return val;
      }
      return moveAxis(
        batchAt0(val, bd, axisSize),
        0,
        od < 0 ? od + val.aval.shape.length + (bd === null ? 1 : 0) : od,
      );
    });
  });
}

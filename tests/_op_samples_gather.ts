/**
 * Conformance samples of the gather / scatter primitives (merged into OP_SAMPLES): row takes,
 * 2-d windows, clip and fill modes with out-of-bounds starts, batching axes, empty index batches.
 * @module
 */
import type { ArgSpec, OpSamples, Sample, ValueGen } from "./_op_samples.ts";

const fr = Math.fround;
const F = (shape: number[]): ArgSpec => ({
  shape,
  dtype: "float",
  gen: (r) => fr(-2 + 4 * r()),
});
const I = (shape: number[], lo: number, hi: number): ArgSpec => ({
  shape,
  dtype: "int32",
  gen: (r) => lo + Math.floor(r() * (hi - lo + 1)),
});
/** Index values taken in turn from `list` (unique within an array of the list's length). */
function cycle(list: number[]): ValueGen {
  let k = 0;
  return () => list[k++ % list.length];
}
const S = (
  label: string,
  args: ArgSpec[],
  params: unknown,
  extra: Partial<Sample> = {},
): Sample => ({
  label,
  args,
  params,
  ...extra,
});

const gdn = (
  offsetDims: number[],
  collapsedSliceDims: number[],
  startIndexMap: number[],
  operandBatchingDims: number[] = [],
  startIndicesBatchingDims: number[] = [],
) => ({
  offsetDims,
  collapsedSliceDims,
  startIndexMap,
  operandBatchingDims,
  startIndicesBatchingDims,
});

/** Samples of `gather`. */
export const GATHER_SAMPLES: OpSamples = {
  differentiable: true,
  samples: [
    S("rows of [5,3] (clip)", [F([5, 3]), I([4, 1], -2, 6)], {
      dimensionNumbers: gdn([1], [0], [0]),
      sliceSizes: [1, 3],
      mode: "clip",
      fillValue: null,
    }),
    S("2-d windows of [4,5] (clip)", [F([4, 5]), I([3, 2], -2, 6)], {
      dimensionNumbers: gdn([1, 2], [], [0, 1]),
      sliceSizes: [2, 3],
      mode: "clip",
      fillValue: null,
    }),
    S("fill mode, fill 0", [F([4, 5]), I([2, 3, 2], -2, 5)], {
      dimensionNumbers: gdn([2], [0], [0, 1]),
      sliceSizes: [1, 2],
      mode: "fill",
      fillValue: 0,
    }),
    S("fill mode, default NaN fill", [F([6]), I([5, 1], -1, 6)], {
      dimensionNumbers: gdn([], [0], [0]),
      sliceSizes: [1],
      mode: "fill",
      fillValue: null,
    }, { fd: false }),
    S("batching axes", [F([3, 4, 2]), I([3, 2, 1], 0, 3)], {
      dimensionNumbers: gdn([2], [1], [1], [0], [0]),
      sliceSizes: [1, 1, 2],
      mode: "clip",
      fillValue: null,
    }),
    S("dynamic slice of [4] (0-d batch)", [F([4]), I([1], -1, 3)], {
      dimensionNumbers: gdn([0], [], [0]),
      sliceSizes: [2],
      mode: "clip",
      fillValue: null,
    }),
    S("offset axis first", [F([3, 4]), I([2, 1], 0, 3)], {
      dimensionNumbers: gdn([0], [1], [1]),
      sliceSizes: [3, 1],
      mode: "clip",
      fillValue: null,
    }),
    S("empty index batch", [F([5, 3]), I([0, 1], 0, 4)], {
      dimensionNumbers: gdn([1], [0], [0]),
      sliceSizes: [1, 3],
      mode: "clip",
      fillValue: null,
    }),
  ],
};

const sdn = (
  updateWindowDims: number[],
  insertedWindowDims: number[],
  scatterDimsToOperandDims: number[],
  operandBatchingDims: number[] = [],
  scatterIndicesBatchingDims: number[] = [],
) => ({
  updateWindowDims,
  insertedWindowDims,
  scatterDimsToOperandDims,
  operandBatchingDims,
  scatterIndicesBatchingDims,
});

/** Samples of a scatter primitive; `unique` draws unique indices (scatterMul's update derivative). */
function scatterSamples(unique: boolean): OpSamples {
  const rows = unique ? { ...I([4, 1], 0, 4), gen: cycle([3, 0, 4, 1]) } : I([4, 1], -1, 5);
  const wins = unique ? { ...I([2, 2], 0, 3), gen: cycle([0, 0, 2, 3]) } : I([2, 2], -1, 4);
  const batch = unique ? { ...I([3, 1, 1], 0, 3), gen: cycle([1]) } : I([3, 2, 1], 0, 3);
  return {
    differentiable: true,
    samples: [
      S("rows of [5,3] (drop out of bounds)", [F([5, 3]), rows, F([4, 3])], {
        dimensionNumbers: sdn([1], [0], [0]),
        mode: "fill",
      }),
      S("2-d windows of [4,5] (clip)", [F([4, 5]), wins, F([2, 2, 2])], {
        dimensionNumbers: sdn([1, 2], [], [0, 1]),
        mode: "clip",
      }),
      S("batching axes", [F([3, 4]), batch, F(batch.shape.slice(0, 2))], {
        dimensionNumbers: sdn([], [1], [1], [0], [0]),
        mode: "clip",
      }),
      S("0-d update window start", [F([4]), { ...I([1], 0, 2), gen: cycle([1]) }, F([2])], {
        dimensionNumbers: sdn([0], [], [0]),
        mode: "clip",
      }),
      S("empty index batch", [F([5, 3]), I([0, 1], 0, 4), F([0, 3])], {
        dimensionNumbers: sdn([1], [0], [0]),
        mode: "fill",
      }),
    ],
  };
}

/** Samples of every scatter primitive. */
export const SCATTER_SAMPLES: Record<
  "scatter" | "scatterAdd" | "scatterMul" | "scatterMin" | "scatterMax",
  OpSamples
> = {
  scatter: scatterSamples(false),
  scatterAdd: scatterSamples(false),
  scatterMul: scatterSamples(true),
  scatterMin: scatterSamples(false),
  scatterMax: scatterSamples(false),
};

const pick = (vals: number[]): ValueGen => (r) => vals[Math.floor(r() * vals.length)];
const FG = (shape: number[], gen: ValueGen): ArgSpec => ({ shape, dtype: "float", gen });

/** Samples of `sort`. */
export const SORT_SAMPLES: OpSamples = {
  differentiable: true,
  samples: [
    S("[5]", [F([5])], { dimension: 0, numKeys: 1 }),
    S("[3,4] along axis 0", [F([3, 4])], { dimension: 0, numKeys: 1 }),
    S("[2,5] float with an int payload", [F([2, 5]), I([2, 5], -3, 3)], {
      dimension: 1,
      numKeys: 1,
    }),
    S("two keys with ties", [FG([2, 6], pick([-1, 0, 1])), I([2, 6], 0, 2), F([2, 6])], {
      dimension: 1,
      numKeys: 2,
    }, { fd: false }),
    S("NaN and infinities last / first", [FG([7], pick([NaN, Infinity, -Infinity, 0, -1.5, 2]))], {
      dimension: 0,
      numKeys: 1,
    }, { fd: false }),
    S("int32 keys", [I([4, 3], -5, 5)], { dimension: 0, numKeys: 1 }),
    S("[2,0]", [F([2, 0])], { dimension: 1, numKeys: 1 }),
  ],
};

function cumSamples(gen: ValueGen): OpSamples {
  return {
    differentiable: true,
    samples: [
      S("[5]", [FG([5], gen)], { axis: 0, reverse: false }),
      S("[3,4] axis 1 reversed", [FG([3, 4], gen)], { axis: 1, reverse: true }),
      S("[4,3] axis 0", [FG([4, 3], gen)], { axis: 0, reverse: false }),
      S("[1,2] axis 0 reversed", [FG([1, 2], gen)], { axis: 0, reverse: true }),
      S("int32 [2,3]", [I([2, 3], -3, 3)], { axis: 1, reverse: false }),
      S("[0,3]", [FG([0, 3], gen)], { axis: 0, reverse: false }),
    ],
  };
}
const away0: ValueGen = (r) => fr((r() < 0.5 ? -1 : 1) * (0.5 + r()));

/** Samples of the cumulative primitives. */
export const CUM_SAMPLES: Record<"cumsum" | "cumprod" | "cummax" | "cummin", OpSamples> = {
  cumsum: cumSamples((r) => fr(-2 + 4 * r())),
  cumprod: cumSamples(away0),
  cummax: cumSamples((r) => fr(-2 + 4 * r())),
  cummin: cumSamples((r) => fr(-2 + 4 * r())),
};

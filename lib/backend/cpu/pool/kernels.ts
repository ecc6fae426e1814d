/**
 * The Wasm modules every pool thread instantiates on the shared memory, and the ops they export.
 * A kernel that runs on the pool is added here (one entry); `pool.op(name)` finds its op code.
 * @module
 */
import { buildSgemmModule, type SgemmConfig } from "../../../../kernels/wasm/sgemm.ts";
import { buildDirectConvModule } from "../../../../kernels/wasm/direct_conv.ts";
import { buildFftModule, FFT_EXPORTS } from "../../../../kernels/wasm/fft_gen.ts";
import { buildRadixModule } from "../../../../kernels/wasm/radix_sort.ts";
import { buildRadixMsdModule } from "../../../../kernels/wasm/radix_msd.ts";

/** A module for the pool: its bytes for a memory kind and configuration, and its exported ops. */
export interface PoolModule {
  /** Module bytes importing `env.memory` (shared iff `shared`). */
  build(shared: boolean, config: SgemmConfig): Uint8Array<ArrayBuffer>;
  /** Export names that become pool ops, in order. */
  exports: string[];
}

/** Every module of the pool; op codes number their exports in this order. */
export const POOL_MODULES: PoolModule[] = [
  { build: (shared, config) => buildSgemmModule({ shared, config }), exports: ["sgemm", "sconv"] },
  { build: (shared) => buildDirectConvModule({ shared }), exports: ["directConv"] },
  { build: (shared) => buildFftModule({ shared }), exports: [...FFT_EXPORTS] },
  {
    build: (shared) => buildRadixModule({ shared }),
    exports: ["radixKeys", "radixScatter", "radixScatterCount", "radixUnflip"],
  },
  {
    build: (shared) => buildRadixMsdModule({ shared }),
    exports: ["msdCount", "msdScatter", "msdBuckets"],
  },
];

/**
 * The function table for {@link POOL_MODULES}: `[module index, export name]` per op code.
 *
 * @example
 * ```ts
 * if (poolTable()[0][1] !== "sgemm") throw new Error("sgemm must be op 0");
 * ```
 */
export function poolTable(): [number, string][] {
  return POOL_MODULES.flatMap((m, i) => m.exports.map((e): [number, string] => [i, e]));
}

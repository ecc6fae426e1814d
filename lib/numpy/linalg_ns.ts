/**
 * The `np.linalg` namespace: decompositions and solves (linalg_decomp.ts) and the compositions
 * `matrixPower` and `norm` (linalg_extra.ts).
 * @module
 */
export * from "./linalg_decomp.ts";
export * from "./linalg_extra.ts";

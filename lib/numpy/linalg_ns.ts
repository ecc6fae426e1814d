/**
 * The `np.linalg` namespace: decompositions and solves (linalg_decomp.ts) and the compositions
 * `matrixPower` and `norm` (linalg_extra.ts), `qr`, `eigh`, `svd`, `lstsq`, `pinv` (linalg_svd.ts).
 * @module
 */
export * from "./linalg_decomp.ts";
export * from "./linalg_extra.ts";
export { eigh, lstsq, pinv, qr, svd } from "./linalg_svd.ts";
export type {
  EighOptions,
  LstsqOptions,
  PinvOptions,
  QrOptions,
  SvdOptions,
} from "./linalg_svd.ts";

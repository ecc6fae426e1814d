/**
 * How a `scan` equation runs: a loop whose compiled body performs `unroll` steps of the scan body
 * on blocks of `unroll` rows of `xs` (JAX's `unroll`); a length not divisible by `unroll` runs its
 * last `length % unroll` steps as one shorter block after the loop, as JAX does.
 * @module
 */
import { ArrayValue } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { allocTyped, type TypedArray } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import { getBackend } from "../backend/backend.ts";
import { evalJaxpr, type Jaxpr } from "../ir.ts";
import type { Aval } from "./_define.ts";
import { zerosOf } from "./_util.ts";
import { concatenate, reshape, slice } from "./movement.ts";
import { closeFn, isHost, memo, runBody } from "./_control.ts";
import { hasOpaque } from "../transforms/segments.ts";
import { hasComplex } from "../transforms/complex_lower.ts";

/** What the loop runner reads of a scan's parameters. */
export interface ScanLoopParams {
  jaxpr: Jaxpr;
  nConsts: number;
  nCarry: number;
  length: number;
  reverse: boolean;
  unroll: number;
}

/** One run of a loop body: `size` consecutive rows of `xs` from row `start`. */
export interface ScanBlock {
  start: number;
  size: number;
}

/**
 * The blocks a scan runs, in execution order: `floor(length / unroll)` blocks of `unroll` rows
 * (the loop), then the remainder as one block. Reversed, the loop covers the last rows (from the
 * end) and the remainder is the first rows, run last.
 */
export function scanBlocks(length: number, unroll: number, reverse: boolean): ScanBlock[] {
  const k = Math.max(1, Math.min(unroll, length));
  const nb = Math.floor(length / k), r = length - nb * k;
  const blocks: ScanBlock[] = [];
  for (let b = 0; b < nb; b++) {
    blocks.push({ start: reverse ? r + (nb - 1 - b) * k : b * k, size: k });
  }
  if (r > 0) blocks.push({ start: reverse ? 0 : nb * k, size: r });
  return blocks;
}

/** Concatenates arrays with a leading axis along it (at most 4 operands per concatenate). */
export function concatRows(parts: Tensor[], aval: Aval): Tensor {
  if (parts.length === 0) return zerosOf(aval);
  let level = parts;
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const group = level.slice(i, i + 4);
      next.push(group.length === 1 ? group[0] : concatenate(group, 0));
    }
    level = next;
  }
  return level[0];
}

/** Row `j` of `x` (its leading axis dropped). */
const row = (x: Tensor, j: number) => {
  const s = x.aval.shape;
  return reshape(slice(x, [j, ...s.slice(1).map(() => 0)], [j + 1, ...s.slice(1)]), s.slice(1));
};

/**
 * The body of a block of `size` steps, const-free: `[...consts, ...carry, ...xBlocks] ->
 * [...carry, ...yBlocks]` with blocks of `size` rows (`size` 1: the scan body itself, on rows).
 */
export function blockBody(p: ScanLoopParams, size: number): { jaxpr: Jaxpr; consts: Tensor[] } {
  const { jaxpr, nConsts: nC, nCarry: nK, reverse } = p;
  if (size === 1) return { jaxpr, consts: [] };
  return memo(jaxpr, `unroll:${nC}:${nK}:${reverse}:${size}`, () => {
    const ins = jaxpr.inAvals;
    const yAvals = jaxpr.outAvals.slice(nK);
    return closeFn((zs) => {
      const consts = zs.slice(0, nC), xb = zs.slice(nC + nK);
      let carry = zs.slice(nC, nC + nK);
      const ys: Tensor[][] = yAvals.map(() => new Array(size));
      for (let t = 0; t < size; t++) {
        const j = reverse ? size - 1 - t : t;
        const outs = evalJaxpr(jaxpr, [...consts, ...carry, ...xb.map((x) => row(x, j))]);
        carry = outs.slice(0, nK);
        outs.slice(nK).forEach((y, m) => (ys[m][j] = reshape(y, [1, ...y.aval.shape])));
      }
      return [
        ...carry,
        ...ys.map((parts, m) =>
          concatRows(parts, { ...yAvals[m], shape: [size, ...yAvals[m].shape] })
        ),
      ];
    }, [
      ...ins.slice(0, nC + nK),
      ...ins.slice(nC + nK).map((a) => ({ ...a, shape: [size, ...a.shape] })),
    ]);
  });
}

/** @internal `raw: false` runs host loops body call by body call (the path before `scanRaw`). */
export const scanTuning: { raw: boolean } = { raw: true };

/**
 * Runs the loop on raw host buffers through the backend's compiled block bodies
 * (`programRunner`): x blocks are views, each block writes its ys straight into the stacked
 * outputs and its carry into one of two buffers kept for the loop (no per-iteration arrays or
 * wrappers). Null when the backend cannot, or a body holds loops, complex values or constants
 * on another backend.
 */
function scanRaw(
  args: ArrayValue[],
  p: ScanLoopParams,
  outAvals: Aval[],
  dest?: (TypedArray | undefined)[],
): Tensor[] | null {
  const { nConsts: nC, nCarry: nK, length } = p;
  const backend = args[0]?.backend ?? getBackend();
  if (!backend.programRunner || args.some((a) => a.backend !== backend)) return null;
  const blocks = scanBlocks(length, p.unroll, p.reverse);
  const runners = new Map<number, { run: Runner; consts: TypedArray[] }>();
  for (const { size } of blocks) {
    if (runners.has(size)) continue;
    const body = blockBody(p, size);
    const cs = body.consts;
    if (hasOpaque(body.jaxpr) || hasComplex(body.jaxpr)) return null;
    if (cs.some((c) => !(c instanceof ArrayValue) || c.backend !== backend)) return null;
    const run = memo(
      body.jaxpr,
      `runner:${backend.name}`,
      () => backend.programRunner!(body.jaxpr),
    );
    runners.set(size, { run, consts: cs.map((c) => (c as ArrayValue).buffer as TypedArray) });
  }
  const bufs = args.map((a) => a.buffer as TypedArray);
  const xSizes = p.jaxpr.inAvals.slice(nC + nK).map((a) => sizeOf(a.shape));
  const yAvals = outAvals.slice(nK);
  const ySizes = yAvals.map((a) => sizeOf(a.shape) / length);
  const ys = yAvals.map((a, k) => destOr(dest?.[nK + k], a));
  const cAvals = outAvals.slice(0, nK);
  // two buffers per carry: a block reads one and writes the other (the last block: dest)
  const last = (blocks.length - 1) & 1;
  const pair = [0, 1].map((t) =>
    cAvals.map((a, k) => t === last ? destOr(dest?.[k], a) : allocTyped(a.dtype, sizeOf(a.shape)))
  );
  const carry = bufs.slice(nC, nC + nK);
  const dests: TypedArray[] = new Array(nK + ys.length);
  blocks.forEach(({ start, size }, t) => {
    const { run, consts } = runners.get(size)!;
    const ins: TypedArray[] = [...consts, ...bufs.slice(0, nC), ...carry];
    for (let k = 0; k < xSizes.length; k++) {
      ins.push(bufs[nC + nK + k].subarray(start * xSizes[k], (start + size) * xSizes[k]));
    }
    for (let k = 0; k < nK; k++) dests[k] = pair[t & 1][k];
    for (let k = 0; k < ys.length; k++) {
      dests[nK + k] = ys[k].subarray(start * ySizes[k], (start + size) * ySizes[k]);
    }
    const outs = run(ins, dests) as TypedArray[];
    for (let k = 0; k < nK; k++) carry[k] = outs[k];
  });
  return [
    ...carry.map((b, k) => new ArrayValue(b, cAvals[k], backend)),
    ...ys.map((d, k) => new ArrayValue(d, yAvals[k], backend)),
  ];
}
type Runner = (inputs: unknown[], dests?: (unknown | undefined)[]) => unknown[];

/** `d` when it is a buffer for `a` (a plan's kept buffer), else a new one. */
function destOr(d: TypedArray | undefined, a: Aval): TypedArray {
  const n = sizeOf(a.shape);
  return d?.length === n ? d : allocTyped(a.dtype, n);
}

/**
 * Runs the loop on host arrays: x blocks are views, y blocks are written in place (into
 * `dest[k]`, a caller's kept buffer of output k, where given; see `OpDef.evalImpl`).
 */
export function scanHost(
  args: ArrayValue[],
  p: ScanLoopParams,
  outAvals: Aval[],
  dest?: (TypedArray | undefined)[],
): Tensor[] {
  const raw = scanTuning.raw ? scanRaw(args, p, outAvals, dest) : null;
  if (raw) return raw;
  const { nConsts: nC, nCarry: nK, length } = p;
  const backend = args[0]?.backend ?? getBackend();
  const consts = args.slice(0, nC), xs = args.slice(nC + nK);
  const xAvals = p.jaxpr.inAvals.slice(nC + nK);
  const xSizes = xAvals.map((a) => sizeOf(a.shape));
  const yAvals = outAvals.slice(nK);
  const ySizes = yAvals.map((a) => sizeOf(a.shape) / length);
  const ys = yAvals.map((a, k) => destOr(dest?.[nK + k], a));
  let carry: Tensor[] = args.slice(nC, nC + nK);
  for (const { start, size } of scanBlocks(length, p.unroll, p.reverse)) {
    const body = blockBody(p, size);
    const xb = xs.map((x, k) => {
      const data = (x.buffer as TypedArray).subarray(start * xSizes[k], (start + size) * xSizes[k]);
      const a = size === 1 ? xAvals[k] : { ...xAvals[k], shape: [size, ...xAvals[k].shape] };
      return new ArrayValue(data, a, x.backend);
    });
    const outs = runBody(body.jaxpr, [...body.consts, ...consts, ...carry, ...xb]);
    carry = outs.slice(0, nK);
    for (let k = 0; k < ys.length; k++) {
      const y = outs[nK + k]._concrete();
      ys[k].set(
        (isHost(y) ? y.buffer : y.dataSync()) as ArrayLike<number> as TypedArray,
        start * ySizes[k],
      );
    }
  }
  return [...carry, ...ys.map((d, k) => new ArrayValue(d, yAvals[k], backend))];
}

/** Runs the loop on device arrays with slice and concatenate ops. */
export function scanDevice(args: Tensor[], p: ScanLoopParams, outAvals: Aval[]): Tensor[] {
  const { nConsts: nC, nCarry: nK, length } = p;
  const consts = args.slice(0, nC), xs = args.slice(nC + nK);
  const blocks = scanBlocks(length, p.unroll, p.reverse);
  const ys: Tensor[][] = outAvals.slice(nK).map(() => new Array(blocks.length));
  let carry = args.slice(nC, nC + nK);
  // blocks in row order: ys are concatenated in that order
  const order = blocks.map((b, i) => [b.start, i]).sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  blocks.forEach(({ start, size }, bi) => {
    const body = blockBody(p, size);
    const xb = xs.map((x) => {
      const s = x.aval.shape;
      const block = slice(x, [start, ...s.slice(1).map(() => 0)], [start + size, ...s.slice(1)]);
      return size === 1 ? reshape(block, s.slice(1)) : block;
    });
    const outs = runBody(body.jaxpr, [...body.consts, ...consts, ...carry, ...xb]);
    carry = outs.slice(0, nK);
    outs.slice(nK).forEach((y, m) => {
      ys[m][bi] = size === 1 ? reshape(y, [1, ...y.aval.shape]) : y;
    });
  });
  return [
    ...carry,
    ...ys.map((parts, m) => concatRows(order.map((i) => parts[i]), outAvals[nK + m])),
  ];
}

/**
 * The associative scan (Blelloch-style odd/even recursion, O(n) work, O(log n) depth) written
 * with slice / concatenate / reshape, so it differentiates, batches and jits like any user code.
 * Used by `lax.associativeScan` and the jvp rules of cumprod / cummax / cummin.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { concatenate, reshape, rev, slice } from "./movement.ts";

/** Combines two lists of equally shaped partial results elementwise. */
export type ScanFn = (a: Tensor[], b: Tensor[]) => Tensor[];

/** `x[lo:hi:step]` along `axis`. */
function sliceAxis(x: Tensor, axis: number, lo: number, hi: number, step = 1): Tensor {
  const s = x.aval.shape;
  return slice(
    x,
    s.map((_, d) => (d === axis ? lo : 0)),
    s.map((n, d) => (d === axis ? Math.max(lo, hi) : n)),
    s.map((_, d) => (d === axis ? step : 1)),
  );
}

/** Interleaves `a` (even positions) and `b` (odd positions) along `axis`. */
function interleave(a: Tensor, b: Tensor, axis: number): Tensor {
  const na = a.aval.shape[axis], nb = b.aval.shape[axis];
  const s = b.aval.shape;
  const pairShape = [...s.slice(0, axis + 1), 1, ...s.slice(axis + 1)];
  const a0 = reshape(sliceAxis(a, axis, 0, nb), pairShape);
  const b1 = reshape(b, pairShape);
  const both = reshape(concatenate([a0, b1], axis + 1), s.map((n, d) => (d === axis ? 2 * n : n)));
  return na > nb ? concatenate([both, sliceAxis(a, axis, nb, na)], axis) : both;
}

function scan(fn: ScanFn, elems: Tensor[], axis: number): Tensor[] {
  const n = elems[0].aval.shape[axis];
  if (n < 2) return elems;
  const reduced = fn(
    elems.map((e) => sliceAxis(e, axis, 0, n - 1, 2)),
    elems.map((e) => sliceAxis(e, axis, 1, n, 2)),
  );
  const odd = scan(fn, reduced, axis);
  const rest = elems.map((e) => sliceAxis(e, axis, 2, n, 2));
  const evenTail = n % 2 === 0
    ? fn(odd.map((e) => sliceAxis(e, axis, 0, e.aval.shape[axis] - 1)), rest)
    : fn(odd, rest);
  const even = elems.map((e, i) => concatenate([sliceAxis(e, axis, 0, 1), evenTail[i]], axis));
  return even.map((e, i) => interleave(e, odd[i], axis));
}

/** Inclusive scan of `elems` (equal sizes along `axis`) with the associative `fn`. */
export function associativeScanFlat(
  fn: ScanFn,
  elems: Tensor[],
  axis: number,
  reverse: boolean,
): Tensor[] {
  if (!reverse) return scan(fn, elems, axis);
  const flip = (xs: Tensor[]) => xs.map((x) => rev(x, [axis]));
  return flip(scan((a, b) => fn(b, a), flip(elems), axis));
}

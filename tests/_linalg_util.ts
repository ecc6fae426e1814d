/**
 * Helpers shared by the CPU linalg kernel tests: deterministic matrices and a CPU-backend wrapper.
 * @module
 */
import { getBackend, setBackend } from "../mod.ts";

/** `n` deterministic values in [-1, 1) from a 32-bit LCG seeded with `seed`. */
export function vals(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

/** A test body run with the CPU backend selected (the previous backend restored after). */
export function onCpu(fn: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    const prev = getBackend();
    setBackend("cpu");
    try {
      await fn();
    } finally {
      setBackend(prev);
    }
  };
}

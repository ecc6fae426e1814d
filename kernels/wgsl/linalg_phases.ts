/**
 * The dispatches of a linalg kernel as phases over one workgroup per matrix: straight phases, and
 * loops whose steps are split over several dispatches (each within the software adapter's loop
 * budget, the step range read from a constant), all recorded into the same submission.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { SortDispatch } from "./sort.ts";
import { perMatrix } from "./linalg.ts";

/** A buffer of a linalg kernel: its binding ("in{k}", "out{k}" or a temporary), element type. */
export type LinalgBuf = { bind: string; type: "f32" | "i32" };

/** A temporary of a linalg kernel; `data` marks a constant (uploaded once per runtime). */
export interface LinalgTemp {
  dtype: DType;
  length: number;
  data?: Float32Array;
}

/** Words between two chunks' step ranges (256 bytes: the largest storage offset alignment). */
const RANGE_WORDS = 64;
const rangeData = new Map<string, Float32Array>();

/** Steps [k0, k1) of a loop that one dispatch runs. */
export type Chunk = [number, number];

/**
 * Consecutive chunks of steps 0..steps−1 whose loop iterations (`fixed` + Σ cost(step)) stay
 * within `budget` (one chunk when it is infinite), and the largest chunk's iterations (over the
 * budget when one step alone is: then that step's).
 */
export function chunkSteps(
  steps: number,
  cost: (s: number) => number,
  budget: number,
  fixed = 0,
): { chunks: Chunk[]; loops: number } {
  if (steps <= 0) return { chunks: [], loops: 0 };
  if (!Number.isFinite(budget)) return { chunks: [[0, steps]], loops: 0 };
  const chunks: Chunk[] = [];
  let k0 = 0, l = fixed, most = 0;
  for (let s = 0; s < steps; s++) {
    const c = cost(s);
    if (fixed + c > budget) return { chunks, loops: fixed + c };
    if (l + c > budget) {
      chunks.push([k0, s]);
      most = Math.max(most, l);
      k0 = s;
      l = fixed;
    }
    l += c;
  }
  chunks.push([k0, steps]);
  return { chunks, loops: Math.max(most, l) };
}

/**
 * Builds a linalg kernel's dispatches: `bufs` names its buffers (WGSL name → binding); each phase
 * declares only the buffers it uses (`use`), in that order.
 */
export class LinalgPhases {
  readonly dispatches: SortDispatch[] = [];
  readonly temps: LinalgTemp[] = [];
  /** The most loop iterations one invocation of one dispatch runs. */
  loops = 0;
  /** Dispatches that split a loop (their step range comes from the range constant). */
  #ranged: { d: SortDispatch; at: number; chunk: number }[] = [];
  #ranges: number[] = [];
  readonly #bufs: Record<string, LinalgBuf>;

  constructor(
    readonly count: number,
    readonly maxWg: number,
    readonly budget: number,
    bufs: Record<string, LinalgBuf>,
  ) {
    this.#bufs = { ...bufs };
  }

  /** Adds a temporary `name` of `length` elements (at least 1). */
  temp(name: string, type: "f32" | "i32", length: number): this {
    this.#bufs[name] = { bind: `t${this.temps.length}`, type };
    this.temps.push({ dtype: type === "f32" ? "float32" : "int32", length: Math.max(length, 1) });
    return this;
  }

  #decls(use: string[]): string {
    return use.map((n, i) => {
      const b = this.#bufs[n];
      const access = b.bind.startsWith("in") ? "read" : "read_write";
      return `@group(0) @binding(${i}) var<storage, ${access}> ${n}: array<${b.type}>;`;
    }).join("\n");
  }

  /**
   * One dispatch running `body` (perMatrix: `q`, `cb`, `lid`, `sync()`) on `blocks` workgroups
   * per matrix, `loops` iterations long.
   */
  once(use: string[], body: string, loops: number, extra = "", blocks = 1): this {
    const s = perMatrix(this.count, this.maxWg, this.#decls(use), body, extra, blocks);
    this.dispatches.push({ ...s, bind: use.map((n) => this.#bufs[n].bind) });
    this.loops = Math.max(this.loops, loops);
    return this;
  }

  /**
   * `for (var v = k0; v < k1; v++) { body }` over steps 0..steps−1, split into dispatches whose
   * iterations (`pre` costs `fixed`, step s costs `cost(s)`) stay within the budget; `blocks`
   * workgroups per matrix.
   */
  loop(
    use: string[],
    v: string,
    steps: number,
    cost: (s: number) => number,
    body: string,
    opts: { extra?: string; pre?: string; fixed?: number; blocks?: number } = {},
  ): this {
    const { chunks, loops } = chunkSteps(steps, cost, this.budget, 1 + (opts.fixed ?? 0));
    this.loops = Math.max(this.loops, loops);
    if (loops > this.budget) return this;
    const at = use.length;
    const code = `  let k0_ = i32(rng_[0]); let k1_ = i32(rng_[1]);
  ${opts.pre ?? ""}
  for (var ${v} = k0_; ${v} < k1_; ${v}++) {
${body}
  }`;
    const decls = `${
      this.#decls(use)
    }\n@group(0) @binding(${at}) var<storage, read> rng_: array<f32>;`;
    const s = perMatrix(this.count, this.maxWg, decls, code, opts.extra ?? "", opts.blocks);
    for (const [k0, k1] of chunks) {
      const d: SortDispatch = { ...s, bind: [...use.map((n) => this.#bufs[n].bind), "RNG"] };
      this.#ranged.push({ d, at, chunk: this.#ranges.length / 2 });
      this.#ranges.push(k0, k1);
      this.dispatches.push(d);
    }
    return this;
  }

  /** The dispatches and temporaries, with the step ranges as one constant temporary. */
  done(): { dispatches: SortDispatch[]; temps: LinalgTemp[]; loops: number } {
    if (this.#ranged.length) {
      const key = this.#ranges.join(",");
      let data = rangeData.get(key);
      if (!data) {
        data = new Float32Array(this.#ranges.length / 2 * RANGE_WORDS);
        for (let c = 0; c < this.#ranges.length / 2; c++) {
          data[c * RANGE_WORDS] = this.#ranges[2 * c];
          data[c * RANGE_WORDS + 1] = this.#ranges[2 * c + 1];
        }
        if (rangeData.size >= 64) rangeData.delete(rangeData.keys().next().value!);
        rangeData.set(key, data);
      }
      const t = `t${this.temps.length}`;
      this.temps.push({ dtype: "float32", length: data.length, data });
      for (const { d, at, chunk } of this.#ranged) {
        d.bind[at] = t;
        const ranges: SortDispatch["ranges"] = new Array(at + 1).fill(undefined);
        ranges[at] = { offset: chunk * RANGE_WORDS * 4, size: 8 };
        d.ranges = ranges;
      }
    }
    return { dispatches: this.dispatches, temps: this.temps, loops: this.loops };
  }
}

/**
 * The dispatches of a linalg kernel as phases over one workgroup per matrix: straight phases, and
 * loops whose steps are split over several dispatches (each within the software adapter's loop
 * budget, the step range read from a constant), all recorded into the same submission.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { SortDispatch } from "./sort.ts";
import { spread } from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** Invocations per workgroup of every linalg kernel. */
export const LINALG_WG = 64;

/**
 * A shader over `count` matrices (`blocks` workgroups each, or as many as the step range of a
 * `LinalgPhases.perStep` dispatch says): helpers, `decls`, and `body` run with
 * `q` (the matrix index), `cb` (the block) and `lid` (the invocation, i32); `sync()` is a storage
 * + workgroup barrier.
 */
export function perMatrix(
  count: number,
  maxWg: number,
  declsSrc: string,
  body: string,
  extra = "",
  blocks: number | "dynamic" = 1,
): { code: string; dispatch: [number, number, number] } {
  const dispatch = spread(count * (blocks === "dynamic" ? 1 : blocks), maxWg);
  // dynamic: the blocks and the dispatch's width from the step range (rng_[2], rng_[3])
  const [nb, dx] = blocks === "dynamic"
    ? ["i32(rng_[2])", "u32(rng_[3])"]
    : [`${blocks}`, `${dispatch[0]}u`];
  const code = `${helperSource(["tg_nan"])}${declsSrc}
var<workgroup> rv: array<f32, ${LINALG_WG}>;
var<workgroup> ri: array<i32, ${LINALG_WG}>;
fn sync() { storageBarrier(); workgroupBarrier(); }
${extra}
@compute @workgroup_size(${LINALG_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid3: u32) {
  let nb_ = ${nb};
  let qb = i32(wid.y * ${dx} + wid.x);
  if (qb >= ${count} * nb_) { return; }
  let q = qb / nb_; let cb = qb % nb_;
  _ = cb;
  let lid = i32(lid3);
${body}
}
`;
  return { code, dispatch };
}

/** A buffer of a linalg kernel: its binding ("in{k}", "out{k}" or a temporary), element type. */
export type LinalgBuf = { bind: string; type: "f32" | "i32" };

/** A temporary of a linalg kernel; `data` marks a constant (uploaded once per runtime). */
export interface LinalgTemp {
  dtype: DType;
  length: number;
  data?: Float32Array;
}

/**
 * Words between two chunks' step ranges [k0, k1, blocks, dispatch width] (256 bytes: the largest
 * storage offset alignment).
 */
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

  /** `#decls(use)` and the step-range binding `rng_` after them. */
  #rangedDecls(use: string[]): string {
    return `${
      this.#decls(use)
    }\n@group(0) @binding(${use.length}) var<storage, read> rng_: array<f32>;`;
  }

  /** Adds a dispatch of `code` binding `use` and its step range [k0, k1, blocks, width]. */
  #pushRanged(
    code: string,
    dispatch: [number, number, number],
    use: string[],
    range: number[],
  ): void {
    const d: SortDispatch = {
      code,
      dispatch,
      bind: [...use.map((n) => this.#bufs[n].bind), "RNG"],
    };
    this.#ranged.push({ d, at: use.length, chunk: this.#ranges.length / 4 });
    this.#ranges.push(...range);
    this.dispatches.push(d);
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
    const code = `  let k0_ = i32(rng_[0]); let k1_ = i32(rng_[1]);
  ${opts.pre ?? ""}
  for (var ${v} = k0_; ${v} < k1_; ${v}++) {
${body}
  }`;
    const decls = this.#rangedDecls(use);
    const s = perMatrix(this.count, this.maxWg, decls, code, opts.extra ?? "", opts.blocks);
    for (const [k0, k1] of chunks) this.#pushRanged(s.code, s.dispatch, use, [k0, k1, 1, 0]);
    return this;
  }

  /**
   * Step by step, for each step s of 0..steps−1, a dispatch of each part: `body` (with `s` the
   * step, `cb` the block) on `blocks(s)` workgroups per matrix (none: no dispatch), `cost(s)`
   * loop iterations long.
   */
  perStep(
    steps: number,
    parts: {
      use: string[];
      body: string;
      blocks: (s: number) => number;
      cost: (s: number) => number;
      extra?: string;
    }[],
  ): this {
    const codes = parts.map((p) => {
      const body = `  let s = i32(rng_[0]);\n${p.body}`;
      const decls = this.#rangedDecls(p.use);
      return perMatrix(this.count, this.maxWg, decls, body, p.extra ?? "", "dynamic").code;
    });
    for (let s = 0; s < steps; s++) {
      parts.forEach((p, i) => {
        const nb = p.blocks(s);
        if (nb <= 0) return;
        const dispatch = spread(this.count * nb, this.maxWg);
        this.loops = Math.max(this.loops, p.cost(s));
        this.#pushRanged(codes[i], dispatch, p.use, [s, s + 1, nb, dispatch[0]]);
      });
    }
    return this;
  }

  /** The dispatches and temporaries, with the step ranges as one constant temporary. */
  done(): { dispatches: SortDispatch[]; temps: LinalgTemp[]; loops: number } {
    if (this.#ranged.length) {
      const key = this.#ranges.join(",");
      let data = rangeData.get(key);
      if (!data) {
        data = new Float32Array(this.#ranges.length / 4 * RANGE_WORDS);
        for (let c = 0; c < this.#ranges.length / 4; c++) {
          for (let f = 0; f < 4; f++) data[c * RANGE_WORDS + f] = this.#ranges[4 * c + f];
        }
        if (rangeData.size >= 64) rangeData.delete(rangeData.keys().next().value!);
        rangeData.set(key, data);
      }
      const t = `t${this.temps.length}`;
      this.temps.push({ dtype: "float32", length: data.length, data });
      for (const { d, at, chunk } of this.#ranged) {
        d.bind[at] = t;
        const ranges: SortDispatch["ranges"] = new Array(at + 1).fill(undefined);
        ranges[at] = { offset: chunk * RANGE_WORDS * 4, size: 16 };
        d.ranges = ranges;
      }
    }
    return { dispatches: this.dispatches, temps: this.temps, loops: this.loops };
  }
}

/**
 * WGSL kernels of the linear-algebra primitives: one 64-invocation workgroup per matrix of the
 * batch, the algorithm's loops inside the shader with barriers between steps, matrices in storage
 * (no size limit). triangularSolve, cholesky, and LU with partial pivoting for solve / det / slogdet.
 * @module
 */
import type { Aval } from "../../lib/ops/_define.ts";
import type { SolveParams, TriSolveParams } from "../../lib/ops/linalg.ts";
import { sizeOf } from "../../lib/shape.ts";
import { spread } from "./expr.ts";
import { helperSource } from "./helpers.ts";
import type { SortSteps } from "./sort.ts";
import { type LinalgBuf, LinalgPhases, type LinalgTemp } from "./linalg_phases.ts";

/** Invocations per workgroup of every linalg kernel. */
export const LINALG_WG = 64;

/**
 * A rendered linalg op: its dispatches ("in{k}", "out{k}", "t{k}" bindings), temporaries, and an
 * upper bound of the loop iterations one invocation runs (all loops together; see `LOOP_BUDGET`).
 */
export interface LinalgSteps extends SortSteps {
  temps: LinalgTemp[];
  loops: number;
}

/**
 * Loop iterations one invocation may run on software adapters: llvmpipe's loop limiter ends every
 * loop of an invocation after 65535 iterations in all, so a longer kernel would stop early.
 */
export const LOOP_BUDGET = 60000;

/** Iterations of a loop spread over the workgroup. */
export const spreadIters = (count: number) => Math.ceil(Math.max(count, 0) / LINALG_WG) + 1;

const NONE: LinalgSteps = { dispatches: [], temps: [], loops: 0 };

/** Storage declarations: `ins` read-only f32 arrays, then read-write `outs` (name: type). */
export function decls(ins: string[], outs: [string, string][]): string {
  const r = ins.map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`);
  outs.forEach(([n, t], j) =>
    r.push(`@group(0) @binding(${ins.length + j}) var<storage, read_write> ${n}: array<${t}>;`)
  );
  return r.join("\n");
}

/**
 * A shader over `count` matrices (`blocks` workgroups each): helpers, `decls`, and `body` run with
 * `q` (the matrix index), `cb` (the block) and `lid` (the invocation, i32); `sync()` is a storage
 * + workgroup barrier.
 */
export function perMatrix(
  count: number,
  maxWg: number,
  declsSrc: string,
  body: string,
  extra = "",
  blocks = 1,
): { code: string; dispatch: [number, number, number] } {
  const dispatch = spread(count * blocks, maxWg);
  const code = `${helperSource(["tg_nan"])}${declsSrc}
var<workgroup> rv: array<f32, ${LINALG_WG}>;
var<workgroup> ri: array<i32, ${LINALG_WG}>;
fn sync() { storageBarrier(); workgroupBarrier(); }
${extra}
@compute @workgroup_size(${LINALG_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid3: u32) {
  let qb = i32(wid.y * ${dispatch[0]}u + wid.x);
  if (qb >= ${count * blocks}) { return; }
  let q = qb / ${blocks}; let cb = qb % ${blocks};
  _ = cb;
  let lid = i32(lid3);
${body}
}
`;
  return { code, dispatch };
}

/** `for (var v = lid; v < end; v += WG)`: a loop spread over the workgroup. */
export const par = (v: string, end: string, body: string) =>
  `for (var ${v} = lid; ${v} < ${end}; ${v} += ${LINALG_WG}) { ${body} }`;

/**
 * The workgroup's largest (value, index) pair from each invocation's `v`, `i` (ties: smaller
 * index), left in `rv[0]`, `ri[0]`.
 */
export const argmaxTree = (v: string, i: string) =>
  `rv[lid] = ${v}; ri[lid] = ${i};
    workgroupBarrier();
    for (var h = ${LINALG_WG / 2}; h > 0; h = h / 2) {
      if (lid < h) {
        let ov = rv[lid + h]; let oi = ri[lid + h];
        if (ov > rv[lid] || (ov == rv[lid] && oi < ri[lid])) { rv[lid] = ov; ri[lid] = oi; }
      }
      workgroupBarrier();
    }`;

/** How a triangular solve reads op(T)(i, j) and where its right-hand side X (n×k) lives. */
interface TriSolveSrc {
  /** WGSL expression of op(T)(i, j) in terms of `i` and `j` (i32 expressions). */
  t: (i: string, j: string) => string;
  /** The array holding X and the offset of this matrix's X. */
  x: string;
  xBase: string;
  n: number;
  k: number;
  /** op(T) is lower triangular (forward substitution). */
  forward: boolean;
  unit: boolean;
}

/**
 * Step `st` of solving op(T) X = X in place, row by row, on the columns of block `cb`: it
 * finishes one row (divided by its diagonal) and removes it from the rows still to do.
 */
function triStepCode(s: TriSolveSrc): string {
  const { n, k } = s;
  const X = (r: string, c: string) => `${s.x}[${s.xBase} + (${r}) * ${k} + (${c})]`;
  const i = s.forward ? "st" : `${n - 1} - st`;
  const row = s.forward ? "i + 1 + t / kc" : "t / kc";
  const div = s.unit ? "" : `
    let dg = ${s.t("i", "i")};
    ${par("c", "kc", `${X("i", "c0 + c")} = ${X("i", "c0 + c")} / dg;`)}
    sync();`;
  return `    let i = ${i};
    let c0 = cb * ${LINALG_WG}; let kc = min(${LINALG_WG}, ${k} - c0);${div}
    ${
    par(
      "t",
      `(${n - 1} - st) * kc`,
      `let r = ${row}; let c = c0 + t % kc; ${X("r", "c")} = ${X("r", "c")} - ${s.t("r", "i")} * ${
        X("i", "c")
      };`,
    )
  }
    sync();`;
}

/**
 * Adds the triangular solve `s` (over buffers `use`) to `ph`: a workgroup per block of 64
 * columns of X, its rows split into dispatches.
 */
function triSolvePhase(ph: LinalgPhases, use: string[], s: TriSolveSrc): void {
  const kc = Math.min(s.k, LINALG_WG);
  const cost = (st: number) => 1 + spreadIters(kc) + spreadIters((s.n - 1 - st) * kc);
  ph.loop(use, "st", s.n, cost, triStepCode(s), { blocks: Math.ceil(s.k / LINALG_WG) });
}

const batchOf = (a: Aval, n: number) =>
  n === 0 ? sizeOf(a.shape.slice(0, -2)) : sizeOf(a.shape) / (n * n);
const F = (bind: string): LinalgBuf => ({ bind, type: "f32" });

/** triangularSolve: x with op(a) x = b (left side) for every matrix of the batch. */
export function renderTriangularSolve(
  a: Aval,
  b: Aval,
  p: TriSolveParams,
  maxWg: number,
  budget = Infinity,
): LinalgSteps {
  const n = a.shape[a.shape.length - 1], k = b.shape[b.shape.length - 1];
  const count = batchOf(a, n);
  if (count * n * k === 0) return NONE;
  const t = (i: string, j: string) =>
    p.transposeA
      ? `a[q * ${n * n} + (${j}) * ${n} + (${i})]`
      : `a[q * ${n * n} + (${i}) * ${n} + (${j})]`;
  const ph = new LinalgPhases(count, maxWg, budget, { a: F("in0"), b: F("in1"), x: F("out0") });
  ph.once(
    ["b", "x"],
    `  ${par("t", `${n * k}`, `x[q * ${n * k} + t] = b[q * ${n * k} + t];`)}`,
    spreadIters(n * k),
  );
  const forward = p.lower !== p.transposeA;
  triSolvePhase(ph, ["a", "x"], {
    t,
    x: "x",
    xBase: `q * ${n * k}`,
    n,
    k,
    forward,
    unit: p.unitDiagonal,
  });
  return ph.done();
}

/** cholesky: the lower factor of (a + aᵀ)/2, NaN from the first non-positive pivot on. */
export function renderCholesky(a: Aval, maxWg: number, budget = Infinity): LinalgSteps {
  const n = a.shape[a.shape.length - 1];
  const count = batchOf(a, n);
  if (count * n === 0) return NONE;
  const L = (i: string, j: string) => `l[q * ${n * n} + (${i}) * ${n} + (${j})]`;
  const A = (i: string, j: string) => `a[q * ${n * n} + (${i}) * ${n} + (${j})]`;
  const ph = new LinalgPhases(count, maxWg, budget, { a: F("in0"), l: F("out0") });
  ph.once(
    ["a", "l"],
    `  ${
      par(
        "t",
        `${n * n}`,
        `let i = t / ${n}; let j = t % ${n}; ${L("i", "j")} = select(0.0, (${A("i", "j")} + ${
          A("j", "i")
        }) * 0.5, j <= i);`,
      )
    }`,
    spreadIters(n * n),
  );
  const step = `    let d = ${L("j", "j")};
    let ljj = select(tg_nan(), sqrt(d), d > 0.0);
    for (var i = j + 1 + lid; i < ${n}; i += ${LINALG_WG}) { ${L("i", "j")} = ${
    L("i", "j")
  } / ljj; }
    sync();
    if (lid == 0) { ${L("j", "j")} = ljj; }
    let m = ${n - 1} - j;
    ${
    par(
      "t",
      "m * m",
      `let r = j + 1 + t / m; let c = j + 1 + t % m; if (c <= r) { ${L("r", "c")} = ${
        L("r", "c")
      } - ${L("r", "j")} * ${L("c", "j")}; }`,
    )
  }
    sync();`;
  const cost = (j: number) => 1 + spreadIters(n - j) + spreadIters((n - j - 1) ** 2);
  ph.loop(["l"], "j", n, cost, step);
  return ph.done();
}

/**
 * Adds LU with partial pivoting of `a` into w (n×n at q·n²) and the row order into perm (n at
 * q·n; the permutation's sign at count·n + q) to `ph`, its columns split into dispatches. The
 * pivot is the first row of largest |value| (NaN never wins, except on the diagonal).
 */
function luPhases(ph: LinalgPhases, n: number): void {
  const W = (i: string, j: string) => `w[q * ${n * n} + (${i}) * ${n} + (${j})]`;
  const sg = `perm[${ph.count * n} + q]`;
  ph.once(
    ["a", "w", "perm"],
    `  ${par("t", `${n * n}`, `w[q * ${n * n} + t] = a[q * ${n * n} + t];`)}
  ${par("t", `${n}`, `perm[q * ${n} + t] = t;`)}
  if (lid == 0) { ${sg} = 1; }`,
    spreadIters(n * n) + spreadIters(n),
  );
  const step = `    var bv = -2.0; var bi = ${n};
    for (var i = k + lid; i < ${n}; i += ${LINALG_WG}) {
      let x = ${W("i", "k")};
      let v = select(abs(x), select(-1.0, tg_inf(), i == k), tg_isnan(x));
      if (v > bv) { bv = v; bi = i; }
    }
    ${argmaxTree("bv", "bi")}
    let p = workgroupUniformLoad(&ri[0]);
    if (p != k) {
      ${
    par("j", `${n}`, `let u = ${W("k", "j")}; ${W("k", "j")} = ${W("p", "j")}; ${W("p", "j")} = u;`)
  }
      if (lid == 0) {
        let u = perm[q * ${n} + k]; perm[q * ${n} + k] = perm[q * ${n} + p]; perm[q * ${n} + p] = u;
        ${sg} = -${sg};
      }
    }
    sync();
    let d = ${W("k", "k")};
    for (var i = k + 1 + lid; i < ${n}; i += ${LINALG_WG}) {
      if (d != 0.0) { ${W("i", "k")} = ${W("i", "k")} / d; }
    }
    sync();
    let m = ${n - 1} - k;
    ${
    par(
      "t",
      "m * m",
      `let r = k + 1 + t / m; let c = k + 1 + t % m; let f = ${W("r", "k")};
      if (d != 0.0 && f != 0.0) { ${W("r", "c")} = ${W("r", "c")} - f * ${W("k", "c")}; }`,
    )
  }
    sync();`;
  const cost = (k: number) =>
    2 + spreadIters(n - k) + Math.log2(LINALG_WG) + 2 * spreadIters(n) +
    spreadIters((n - k - 1) ** 2);
  ph.loop(["w", "perm"], "k", n, cost, step);
}

/** The phases of an LU kernel on `count` n×n matrices: factors (f32), row orders and signs (i32). */
function luKernel(
  count: number,
  n: number,
  maxWg: number,
  budget: number,
  bufs: Record<string, LinalgBuf>,
): LinalgPhases {
  const ph = new LinalgPhases(count, maxWg, budget, bufs)
    .temp("w", "f32", count * n * n)
    .temp("perm", "i32", count * n + count);
  luPhases(ph, n);
  return ph;
}

/** solve: x with op(a) x = b (LU with partial pivoting, then two triangular solves). */
export function renderSolve(
  a: Aval,
  b: Aval,
  p: SolveParams,
  maxWg: number,
  budget = Infinity,
): LinalgSteps {
  const n = a.shape[a.shape.length - 1], k = b.shape[b.shape.length - 1];
  const count = batchOf(a, n);
  if (count * n * k === 0) return NONE;
  const ph = luKernel(count, n, maxWg, budget, { a: F("in0"), b: F("in1"), x: F("out0") });
  const T = (trans: boolean) => (i: string, j: string) =>
    trans ? `w[q * ${n * n} + (${j}) * ${n} + (${i})]` : `w[q * ${n * n} + (${i}) * ${n} + (${j})]`;
  const xb = `q * ${n * k}`;
  // forward then backward: L (unit) and U, or Uᵀ and Lᵀ (unit)
  const solves = (x: string, trans: boolean) => {
    for (const forward of [true, false]) {
      triSolvePhase(ph, ["w", x], {
        t: T(trans),
        x,
        xBase: xb,
        n,
        k,
        forward,
        unit: forward !== trans,
      });
    }
  };
  const pb = (r: string) => `perm[q * ${n} + (${r})]`;
  const ik = `let i = t / ${k}; let c = t % ${k};`;
  if (p.transposeA) {
    // Aᵀ = Uᵀ Lᵀ P: solve Uᵀ y = b, Lᵀ z = y, then x[perm[i]] = z[i]
    ph.temp("y", "f32", count * n * k);
    ph.once(
      ["b", "y"],
      `  ${par("t", `${n * k}`, `y[${xb} + t] = b[${xb} + t];`)}`,
      spreadIters(n * k),
    );
    solves("y", true);
    ph.once(
      ["y", "x", "perm"],
      `  ${par("t", `${n * k}`, `${ik} x[${xb} + ${pb("i")} * ${k} + c] = y[${xb} + t];`)}`,
      spreadIters(n * k),
    );
  } else {
    ph.once(
      ["b", "x", "perm"],
      `  ${par("t", `${n * k}`, `${ik} x[${xb} + t] = b[${xb} + ${pb("i")} * ${k} + c];`)}`,
      spreadIters(n * k),
    );
    solves("x", false);
  }
  return ph.done();
}

/** det, or slogdet ([log|det|, sign]): products over the LU's diagonal. */
export function renderDet(a: Aval, log: boolean, maxWg: number, budget = Infinity): LinalgSteps {
  const n = a.shape[a.shape.length - 1];
  const count = batchOf(a, n);
  if (count === 0) return NONE;
  const bufs: Record<string, LinalgBuf> = log
    ? { a: F("in0"), logs: F("out0"), signs: F("out1") }
    : { a: F("in0"), det: F("out0") };
  const ph = luKernel(count, n, maxWg, budget, bufs);
  const diag = `w[q * ${n * n} + i * ${n + 1}]`;
  const sgn = `f32(perm[${count * n} + q])`;
  const body = log
    ? `  if (lid == 0) {
    var s = ${sgn}; var l = 0.0;
    for (var i = 0; i < ${n}; i++) {
      let v = ${diag};
      s = s * select(sign(v), tg_nan(), tg_isnan(v));
      l = l + log(abs(v));
    }
    logs[q] = select(l, -tg_inf(), s == 0.0);
    signs[q] = s;
  }`
    : `  if (lid == 0) {
    var d = ${sgn};
    for (var i = 0; i < ${n}; i++) { d = d * ${diag}; }
    det[q] = d;
  }`;
  ph.once(["w", "perm", ...(log ? ["logs", "signs"] : ["det"])], body, n + 1);
  return ph.done();
}

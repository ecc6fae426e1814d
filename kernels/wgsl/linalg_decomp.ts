/**
 * WGSL kernels of the decompositions, one workgroup per matrix like kernels/wgsl/linalg.ts:
 * Householder QR (LAPACK's reflector signs) and eigh by parallel-ordered cyclic Jacobi (n/2
 * disjoint rotations per round, sweeps until none rotates), eigenvalues ascending.
 * @module
 */
import type { Aval } from "../../lib/ops/_define.ts";
import type { QrParams } from "../../lib/ops/linalg_decomp.ts";
import { sizeOf } from "../../lib/shape.ts";
import { LINALG_WG, type LinalgSteps, par, spreadIters } from "./linalg.ts";
import { LinalgPhases } from "./linalg_phases.ts";

const NONE: LinalgSteps = { dispatches: [], temps: [], loops: 0 };
/** Loop iterations of `normCode` over `count` values (two spread loops, two reductions). */
const normLoops = (count: number) => 2 * spreadIters(count) + 2 * Math.log2(LINALG_WG);

/** Sweeps after which Jacobi stops even if some rotation is still above the threshold. */
export const MAX_SWEEPS = 60;
/** Extra loop iterations of `jacobiRound` per round (its checks and reductions). */
export const JACOBI_ROUND_LOOPS = 4 + 2 * Math.log2(LINALG_WG);

/**
 * Round R (of `rounds` per sweep) of a Jacobi loop split over dispatches, around `body` (which
 * sets `mine` when it rotates): the state js(1) says a rotation happened in this sweep, js(2)
 * that the matrix is done; a sweep without rotations sets it and later rounds exit early.
 */
export function jacobiRound(rounds: number, js: (f: number) => string, body: string): string {
  return `    let r = R % ${rounds};
    if (r == 0 && R > 0) {
      if (lid == 0) {
        if (${js(1)} == 0.0) { ${js(2)} = 1.0; }
        ${js(1)} = 0.0;
      }
      sync();
    }
    if (wmax(lid, ${js(2)}) != 0.0) { break; }
    var mine = 0.0;
${body}
    let any_ = wmax(lid, mine);
    if (lid == 0 && any_ != 0.0) { ${js(1)} = 1.0; }`;
}

/** Workgroup reductions over `rv` (sum, max); each returns a uniform value. */
export const REDUCE_FNS = ["wsum", "wmax"].map((f) =>
  `fn ${f}(lid: i32, v: f32) -> f32 {
  workgroupBarrier();
  rv[lid] = v;
  workgroupBarrier();
  for (var h = ${LINALG_WG / 2}; h > 0; h = h / 2) {
    if (lid < h) { rv[lid] = ${
    f === "wsum" ? "rv[lid] + rv[lid + h]" : "max(rv[lid], rv[lid + h])"
  }; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&rv[0]);
}`
).join("\n");

/**
 * Overflow-safe 2-norm of `count` values `x(i)` (i from `lid` in steps of the workgroup), as
 * statements defining `name`: the largest magnitude, then the sum of squares scaled by it.
 */
export function normCode(name: string, count: string, x: (i: string) => string): string {
  return `var ${name}_m = 0.0;
    for (var i = lid; i < ${count}; i += ${LINALG_WG}) { ${name}_m = max(${name}_m, abs(${
    x("i")
  })); }
    let ${name}_mx = wmax(lid, ${name}_m);
    var ${name}_s = 0.0;
    if (${name}_mx > 0.0) {
      for (var i = lid; i < ${count}; i += ${LINALG_WG}) { let y = ${
    x("i")
  } / ${name}_mx; ${name}_s += y * y; }
    }
    let ${name} = select(${name}_mx * sqrt(wsum(lid, ${name}_s)), tg_nan(), tg_isnan(${name}_mx));`;
}

/**
 * Applies reflector j (τ = `tau`, v below w's diagonal in column j) to the columns c0.. of the
 * matrix X with `cols` columns: s_c = τ vᵀ X_c (one invocation per column), then X −= v sᵀ.
 */
function reflectCode(
  m: number,
  W: (i: string, j: string) => string,
  SC: (c: string) => string,
  X: (i: string, j: string) => string,
  c0: string,
  cols: number,
): string {
  return `
    if (tau != 0.0) {
      for (var c = ${c0} + lid; c < ${cols}; c += ${LINALG_WG}) {
        var s = ${X("j", "c")};
        for (var i = j + 1; i < ${m}; i++) { s += ${W("i", "j")} * ${X("i", "c")}; }
        ${SC("c")} = s * tau;
      }
    }
    sync();
    let rc = ${cols} - (${c0});
    if (tau != 0.0) {
      ${
    par(
      "t",
      `(${m} - j) * rc`,
      `let i = j + t / rc; let c = ${c0} + t % rc; let v = select(${W("i", "j")}, 1.0, i == j);
      ${X("i", "c")} = ${X("i", "c")} - ${SC("c")} * v;`,
    )
  }
    }
    sync();`;
}

/**
 * qr: Householder reflectors (v₀ = 1 implied, the rest stored below w's diagonal, τ in tau),
 * then q = H₀ … H_{k−1} applied to the identity's first columns, and r from w's upper triangle.
 * Both loops over the reflectors are split into dispatches within the loop budget.
 */
export function renderQr(a: Aval, p: QrParams, maxWg: number, budget = Infinity): LinalgSteps {
  const [m, n] = a.shape.slice(-2), k = Math.min(m, n);
  const count = sizeOf(a.shape.slice(0, -2));
  const qc = p.fullMatrices ? m : k, rr = qc;
  if (count * m * Math.max(n, qc) === 0) return NONE;
  const sw = Math.max(n, qc, 1);
  const W = (i: string, j: string) => `w[q * ${m * n} + (${i}) * ${n} + (${j})]`;
  const Q = (i: string, j: string) => `qo[q * ${m * qc} + (${i}) * ${qc} + (${j})]`;
  const SC = (c: string) => `sc[q * ${sw} + (${c})]`;
  const reflect = (X: (i: string, j: string) => string, c0: string, cols: number) =>
    reflectCode(m, W, SC, X, c0, cols);
  const reflectLoops = (j: number, c0: number, cols: number) =>
    spreadIters(cols - c0) * (m - j) + spreadIters((m - j) * (cols - c0));
  const f32 = (bind: string) => ({ bind, type: "f32" as const });
  const ph = new LinalgPhases(count, maxWg, budget, {
    a: f32("in0"),
    qo: f32("out0"),
    ro: f32("out1"),
  })
    .temp("w", "f32", count * m * n).temp("taus", "f32", count * k).temp("sc", "f32", count * sw);
  ph.once(
    ["a", "w"],
    `  ${par("t", `${m * n}`, `w[q * ${m * n} + t] = a[q * ${m * n} + t];`)}`,
    spreadIters(m * n),
  );
  const step = `    ${normCode("xn", `${m} - j - 1`, (i) => W(`j + 1 + ${i}`, "j"))}
    let alpha = ${W("j", "j")};
    let h = max(abs(alpha), xn);
    let hy = select(h * sqrt((alpha / h) * (alpha / h) + (xn / h) * (xn / h)), 0.0, h == 0.0);
    let beta = select(-1.0, 1.0, alpha < 0.0) * hy;
    let tau = select((beta - alpha) / beta, 0.0, xn == 0.0);
    let scale = 1.0 / (alpha - beta);
    sync();
    if (xn != 0.0) {
      for (var i = j + 1 + lid; i < ${m}; i += ${LINALG_WG}) { ${W("i", "j")} = ${
    W("i", "j")
  } * scale; }
      if (lid == 0) { ${W("j", "j")} = beta; }
    }
    if (lid == 0) { taus[q * ${k} + j] = tau; }
    sync();
    ${reflect(W, "j + 1", n)}`;
  ph.loop(
    ["w", "taus", "sc"],
    "j",
    k,
    (j) => 2 + normLoops(m - j - 1) + spreadIters(m - j) + reflectLoops(j, j + 1, n),
    step,
    { extra: REDUCE_FNS },
  );
  ph.once(
    ["w", "qo", "ro"],
    `  ${
      par(
        "t",
        `${m * qc}`,
        `let i = t / ${qc}; let c = t % ${qc}; ${Q("i", "c")} = select(0.0, 1.0, i == c);`,
      )
    }
  ${
      par(
        "t",
        `${rr * n}`,
        `let i = t / ${n}; let c = t % ${n};
    ro[q * ${rr * n} + t] = select(0.0, ${W("min(i, " + (m - 1) + ")", "c")}, i < ${m} && c >= i);`,
      )
    }`,
    spreadIters(m * qc) + spreadIters(rr * n),
  );
  ph.loop(
    ["w", "taus", "sc", "qo"],
    "jj",
    k,
    (jj) => 1 + reflectLoops(k - 1 - jj, k - 1 - jj, qc),
    `    let j = ${k - 1} - jj;
    let tau = taus[q * ${k} + j];
    ${reflect(Q, "j", qc)}`,
  );
  return ph.done();
}

/**
 * The WGSL of `(p, q)`, the pair `t` of round `r` of a round-robin over `N` (even) indices:
 * index N−1 meets r, and r + u meets r − u (mod N − 1); p < q.
 */
export function pairCode(N: number): string {
  return `fn pairOf(r: i32, t: i32) -> vec2<i32> {
  var a = ${N - 1}; var b = r;
  if (t > 0) { a = (r + t) % ${N - 1}; b = (r - t + ${N - 1}) % ${N - 1}; }
  return vec2<i32>(min(a, b), max(a, b));
}`;
}

/**
 * Phase 1 of a Jacobi round for the pair (p, qq) with off-diagonal `apq`, diagonal `app`, `aqq`:
 * the rotation (cj, sj) zeroing it (host's formulas) and the new diagonal.
 */
const jacobiRotationCode = `let tj = (aqq - app) / (2.0 * apq);
          let tt = select(-1.0, 1.0, tj >= 0.0) / (abs(tj) + sqrt(1.0 + tj * tj));
          cj = 1.0 / sqrt(1.0 + tt * tt);
          sj = tt * cj;
          on = 1.0; mine = 1.0;
          app = app - tt * apq; aqq = aqq + tt * apq;`;

/** Macros over the Jacobi state of matrix q: S (the matrix), V (the vectors), CS (pair rotations). */
function eighMacros(n: number) {
  const P = (n + (n % 2)) / 2, nn = n * n;
  return {
    S: (i: string, j: string) => `sm[q * ${nn} + (${i}) * ${n} + (${j})]`,
    V: (i: string, j: string) => `vm[q * ${nn} + (${i}) * ${n} + (${j})]`,
    CS: (t: string, f: number) => `cs[(q * ${P} + (${t})) * 5 + ${f}]`,
    rotate: (X: string, Y: string) =>
      `let x = ${X}; let y = ${Y}; ${X} = c * x - s * y; ${Y} = s * x + c * y;`,
  };
}

/**
 * Round `r` of a sweep: phase 1 computes each pair's rotation (or none under the threshold),
 * phase 2 rotates the pairs' rows, phase 3 their columns (the 2×2 blocks set exactly) and V.
 */
function eighRoundCode(n: number): string {
  const P = (n + (n % 2)) / 2;
  const { S, V, CS, rotate } = eighMacros(n);
  return `      ${
    par(
      "t",
      `${P}`,
      `let pq = pairOf(r, t); let p = pq.x; let qq = pq.y;
      var cj = 1.0; var sj = 0.0; var on = 0.0; var app = 0.0; var aqq = 0.0;
      if (qq < ${n}) {
        let apq = ${S("p", "qq")};
        app = ${S("p", "p")}; aqq = ${S("qq", "qq")};
        if (abs(apq) > thr) {
          ${jacobiRotationCode}
        }
      }
      ${CS("t", 0)} = cj; ${CS("t", 1)} = sj; ${CS("t", 2)} = on; ${CS("t", 3)} = app; ${
        CS("t", 4)
      } = aqq;`,
    )
  }
      sync();
      ${
    par(
      "u",
      `${P * n}`,
      `let t = u / ${n}; let k = u % ${n}; let pq = pairOf(r, t); let p = pq.x; let qq = pq.y;
      if (qq < ${n} && ${CS("t", 2)} != 0.0) {
        let c = ${CS("t", 0)}; let s = ${CS("t", 1)};
        ${rotate(S("p", "k"), S("qq", "k"))}
      }`,
    )
  }
      sync();
      ${
    par(
      "u",
      `${P * n}`,
      `let t = u / ${n}; let k = u % ${n}; let pq = pairOf(r, t); let p = pq.x; let qq = pq.y;
      if (qq < ${n} && ${CS("t", 2)} != 0.0) {
        let c = ${CS("t", 0)}; let s = ${CS("t", 1)};
        if (k == p) { ${S("p", "p")} = ${CS("t", 3)}; ${S("p", "qq")} = 0.0; }
        else if (k == qq) { ${S("qq", "qq")} = ${CS("t", 4)}; ${S("qq", "p")} = 0.0; }
        else { ${rotate(S("k", "p"), S("k", "qq"))} }
        ${rotate(V("k", "p"), V("k", "qq"))}
      }`,
    )
  }
      sync();
`;
}

/** Ascending (stable) order of the eigenvalues, then each eigenvector's largest entry positive. */
function eighOrderCode(n: number): string {
  const nn = n * n;
  const { S, V } = eighMacros(n);
  return `  // ascending (stable) order, then each eigenvector's largest entry made positive
  ${
    par(
      "i",
      `${n}`,
      `let wi = ${S("i", "i")}; var rk = 0;
    for (var j = 0; j < ${n}; j++) { let wj = ${
        S("j", "j")
      }; if (wj < wi || (wj == wi && j < i)) { rk++; } }
    rank[q * ${n} + i] = rk; wo[q * ${n} + rk] = wi;`,
    )
  }
  sync();
  ${
    par(
      "t",
      `${nn}`,
      `let i = t / ${n}; let j = t % ${n}; vo[q * ${nn} + i * ${n} + rank[q * ${n} + j]] = ${
        V("i", "j")
      };`,
    )
  }
  sync();
  ${
    par(
      "j",
      `${n}`,
      `var best = 0.0;
    for (var i = 0; i < ${n}; i++) { let x = vo[q * ${nn} + i * ${n} + j]; if (abs(x) > abs(best)) { best = x; } }
    if (best < 0.0) { for (var i = 0; i < ${n}; i++) { vo[q * ${nn} + i * ${n} + j] = -vo[q * ${nn} + i * ${n} + j]; } }`,
    )
  }`;
}

/**
 * eigh: eigenvectors (columns of v) and ascending eigenvalues w of (a + aᵀ)/2; the Jacobi rounds
 * (at most MAX_SWEEPS sweeps) split over dispatches within the loop budget.
 */
export function renderEigh(a: Aval, maxWg: number, budget = Infinity): LinalgSteps {
  const n = a.shape[a.shape.length - 1];
  const count = sizeOf(a.shape.slice(0, -2));
  if (count * n === 0) return NONE;
  const N = n + (n % 2), P = N / 2, nn = n * n;
  const S = (i: string, j: string) => `sm[q * ${nn} + (${i}) * ${n} + (${j})]`;
  const V = (i: string, j: string) => `vm[q * ${nn} + (${i}) * ${n} + (${j})]`;
  const A = (i: string, j: string) => `a[q * ${nn} + (${i}) * ${n} + (${j})]`;
  // js: [threshold, rotated this sweep, done, non-finite input] per matrix
  const js = (f: number) => `js[q * 4 + ${f}]`;
  const f32 = (bind: string) => ({ bind, type: "f32" as const });
  const ph = new LinalgPhases(count, maxWg, budget, {
    a: f32("in0"),
    vo: f32("out0"),
    wo: f32("out1"),
  }).temp("sm", "f32", count * nn).temp("vm", "f32", count * nn).temp("cs", "f32", count * P * 5)
    .temp("rank", "i32", count * n).temp("js", "f32", count * 4);
  ph.once(
    ["a", "sm", "vm", "js"],
    `  ${
      par(
        "t",
        `${nn}`,
        `let i = t / ${n}; let j = t % ${n}; ${S("i", "j")} = (${A("i", "j")} + ${
          A("j", "i")
        }) * 0.5;
    ${V("i", "j")} = select(0.0, 1.0, i == j);`,
      )
    }
  sync();
  ${normCode("fro", `${nn}`, (i) => `sm[q * ${nn} + ${i}]`)}
  if (lid == 0) {
    let bad = select(0.0, 1.0, !tg_isfinite(fro));
    ${js(0)} = 1.1920929e-7 * fro; ${js(1)} = 0.0; ${js(2)} = bad; ${js(3)} = bad;
  }`,
    spreadIters(nn) + normLoops(nn),
    REDUCE_FNS,
  );
  const round = `    let thr = ${js(0)};\n${eighRoundCode(n)}`;
  ph.loop(
    ["sm", "vm", "cs", "js"],
    "R",
    MAX_SWEEPS * (N - 1),
    () => JACOBI_ROUND_LOOPS + 1 + spreadIters(P) + 2 * spreadIters(P * n),
    jacobiRound(N - 1, js, round),
    { extra: `${REDUCE_FNS}\n${pairCode(N)}` },
  );
  ph.once(
    ["sm", "vm", "rank", "vo", "wo", "js"],
    `  if (wmax(lid, ${js(3)}) != 0.0) {
    ${par("t", `${nn}`, `vo[q * ${nn} + t] = tg_nan();`)}
    ${par("t", `${n}`, `wo[q * ${n} + t] = tg_nan();`)}
    return;
  }
${eighOrderCode(n)}`,
    Math.log2(LINALG_WG) + 2 * spreadIters(nn) + 2 * n * spreadIters(n) + 2 * spreadIters(n),
    REDUCE_FNS,
  );
  return ph.done();
}

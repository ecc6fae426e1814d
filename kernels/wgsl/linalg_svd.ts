/**
 * WGSL kernel of `svd`, one workgroup per matrix: one-sided Jacobi on the columns (of aᵀ when
 * m < n) in round-robin order, singular values descending, right vectors sign-normalized, and U
 * from the rotated columns re-orthogonalized (two Gram-Schmidt passes) and completed as the CPU.
 * @module
 */
import type { Aval } from "../../lib/ops/_define.ts";
import type { SvdParams } from "../../lib/ops/linalg_decomp.ts";
import { sizeOf } from "../../lib/shape.ts";
import {
  argmaxTree,
  decls,
  LINALG_WG,
  type LinalgSteps,
  par,
  perMatrix,
  spreadIters,
} from "./linalg.ts";
import {
  JACOBI_ROUND_LOOPS,
  jacobiRound,
  MAX_SWEEPS,
  pairCode,
  REDUCE_FNS,
} from "./linalg_decomp.ts";
import { LinalgPhases } from "./linalg_phases.ts";

const EPS32 = 1.1920929e-7;
/** Matrix q's Jacobi state: [unused, rotated this sweep, done, non-finite input]. */
const JS = (f: number) => `jst[q * 4 + ${f}]`;

/** Round `r` of a Jacobi sweep over the columns of G (mt×nt, column j at g[j·mt]) and V (nt×nt). */
function roundCode(mt: number, nt: number): string {
  const P = (nt + (nt % 2)) / 2;
  const G = (j: string, k: string) => `g[gb + (${j}) * ${mt} + (${k})]`;
  const V = (j: string, k: string) => `v[vb + (${j}) * ${nt} + (${k})]`;
  const CS = (t: string, f: number) => `cs[(q * ${P} + (${t})) * 3 + ${f}]`;
  return `      ${
    par(
      "t",
      `${P}`,
      `let pq = pairOf(r, t); let p = pq.x; let qq = pq.y;
      var cj = 1.0; var sj = 0.0; var on = 0.0;
      if (qq < ${nt}) {
        var al = 0.0; var be = 0.0; var ga = 0.0;
        for (var k = 0; k < ${mt}; k++) {
          let x = ${G("p", "k")}; let y = ${G("qq", "k")};
          al += x * x; be += y * y; ga += x * y;
        }
        if (ga != 0.0 && abs(ga) > ${mt * EPS32} * sqrt(al * be)) {
          let tj = (be - al) / (2.0 * ga);
          let tt = select(-1.0, 1.0, tj >= 0.0) / (abs(tj) + sqrt(1.0 + tj * tj));
          cj = 1.0 / sqrt(1.0 + tt * tt);
          sj = tt * cj;
          on = 1.0; mine = 1.0;
        }
      }
      ${CS("t", 0)} = cj; ${CS("t", 1)} = sj; ${CS("t", 2)} = on;`,
    )
  }
      sync();
      ${
    par(
      "u",
      `${P * (mt + nt)}`,
      `let t = u / ${mt + nt}; let k = u % ${mt + nt}; let pq = pairOf(r, t);
      if (pq.y < ${nt} && ${CS("t", 2)} != 0.0) {
        let c = ${CS("t", 0)}; let s = ${CS("t", 1)};
        if (k < ${mt}) {
          let x = ${G("pq.x", "k")}; let y = ${G("pq.y", "k")};
          ${G("pq.x", "k")} = c * x - s * y; ${G("pq.y", "k")} = s * x + c * y;
        } else {
          let i = k - ${mt};
          let x = ${V("pq.x", "i")}; let y = ${V("pq.y", "i")};
          ${V("pq.x", "i")} = c * x - s * y; ${V("pq.y", "i")} = s * x + c * y;
        }
      }`,
    )
  }
      sync();`;
}

/**
 * The bodies of two loops over j (the kept columns, then the completed ones): columns 0..uc of U
 * (column j at u[ub + j·mt]) from the sorted, sign-fixed columns gs and
 * their norms: gs_j / s_j re-orthogonalized against the columns so far (two classical
 * Gram-Schmidt passes), kept if its norm stays ≥ 0.5; the others (and those past nt) become the
 * unit vector with the largest residual, orthogonalized the same way.
 */
function orthoCode(mt: number, nt: number, uc: number): [string, string] {
  const U = (j: string, k: string) => `u[ub + (${j}) * ${mt} + (${k})]`;
  const project = `
      for (var ps = 0; ps < 2; ps++) {
        ${
    par(
      "b",
      `${uc}`,
      `var d = 0.0; if (flag[fb + b] != 0.0 && b != j) { for (var k = 0; k < ${mt}; k++) { d += ${
        U("b", "k")
      } * ${U("j", "k")}; } } dots[fb + b] = d;`,
    )
  }
        sync();
        ${
    par(
      "k",
      `${mt}`,
      `var x = ${U("j", "k")}; for (var b = 0; b < ${uc}; b++) { x -= dots[fb + b] * ${
        U("b", "k")
      }; } ${U("j", "k")} = x;`,
    )
  }
        sync();
      }
      ${columnNormCode()}`;
  return [
    `    let sj = select(0.0, sv[sb + min(j, ${nt - 1})], j < ${nt});
    ${par("k", `${mt}`, `${U("j", "k")} = select(0.0, gs[gb + j * ${mt} + k] / sj, sj > 0.0);`)}
    sync();
    ${project}
    let ok = sj > 0.0 && nrm >= 0.5;
    ${par("k", `${mt}`, `if (ok) { ${U("j", "k")} = ${U("j", "k")} / nrm; }`)}
    if (lid == 0) { flag[fb + j] = select(0.0, 1.0, ok); }
    sync();`,
    `    workgroupBarrier();
    if (lid == 0) { need = flag[fb + j]; }
    if (workgroupUniformLoad(&need) != 0.0) { continue; }
    // the unit vector with the largest residual 1 − Σ_b u_b[e]² (first of equals)
    var bv = -1.0; var bi = ${mt};
    for (var e = lid; e < ${mt}; e += ${LINALG_WG}) {
      var r = 1.0;
      for (var b = 0; b < ${uc}; b++) { if (flag[fb + b] != 0.0) { r -= ${U("b", "e")} * ${
      U("b", "e")
    }; } }
      if (r > bv) { bv = r; bi = e; }
    }
    ${argmaxTree("bv", "bi")}
    let best = workgroupUniformLoad(&ri[0]);
    ${par("k", `${mt}`, `${U("j", "k")} = select(0.0, 1.0, k == best);`)}
    sync();
    ${project}
    ${par("k", `${mt}`, `${U("j", "k")} = ${U("j", "k")} / nrm;`)}
    if (lid == 0) { flag[fb + j] = 1.0; }
    sync();`,
  ];
}

/** `nrm`: the 2-norm of U's column j (a uniform value). */
function columnNormCode(): string {
  return `var ss = 0.0;
      for (var k = lid; k < MT; k += ${LINALG_WG}) { let x = u[ub + j * MT + k]; ss += x * x; }
      let nrm = sqrt(wsum(lid, ss));`;
}

/** Loop iterations of one step of either loop of `orthoCode` (an upper bound). */
function orthoStepLoops(mt: number, uc: number): number {
  const proj = 2 * (spreadIters(uc) * mt + spreadIters(mt) * uc + 2) + spreadIters(mt) +
    Math.log2(LINALG_WG);
  return 2 + 3 * spreadIters(mt) + spreadIters(mt) * uc + Math.log2(LINALG_WG) + proj;
}

/** Each phase's offsets of matrix q's regions (G, V, singular values, U, flags). */
const bases = (mt: number, nt: number, uc: number) =>
  `  let gb = q * ${mt * nt}; let vb = q * ${nt * nt}; let sb = q * ${nt};
  let ub = q * ${mt * uc}; let fb = q * ${uc};
  _ = gb; _ = vb; _ = sb; _ = ub; _ = fb;
`;

/**
 * Loads G (a, or aᵀ when `trans`) and V = I, and the Jacobi state (`jst`: rotated this sweep,
 * done, non-finite input); a non-finite input makes every output NaN and the later phases exit.
 */
function svdLoadCode(m: number, n: number, trans: boolean, uc: number, uvFull: boolean): string {
  const mt = Math.max(m, n), nt = Math.min(m, n);
  // G loaded column-contiguous: g[j·mt + r] = G[r][j] with G = a (or aᵀ)
  const load = trans ? `a[q * ${m * n} + j * ${n} + r]` : `a[q * ${m * n} + r * ${n} + j]`;
  return `  var bad = 0.0;
  ${
    par(
      "t",
      `${mt * nt}`,
      `let j = t / ${mt}; let r = t % ${mt}; let x = ${load}; g[gb + t] = x;
    if (!tg_isfinite(x)) { bad = 1.0; }`,
    )
  }
  ${par("t", `${nt * nt}`, `v[vb + t] = select(0.0, 1.0, t / ${nt} == t % ${nt});`)}
  sync();
  let bad_ = wmax(lid, bad);
  if (bad_ != 0.0) {
    ${par("t", `${nt}`, `so[sb + t] = tg_nan();`)}
    ${
    uvFull
      ? `${par("t", `${m * (trans ? m : uc)}`, `uo[q * ${m * (trans ? m : uc)} + t] = tg_nan();`)}
    ${par("t", `${(trans ? uc : nt) * n}`, `vto[q * ${(trans ? uc : nt) * n} + t] = tg_nan();`)}`
      : ""
  }
  }
  if (lid == 0) { ${JS(1)} = 0.0; ${JS(2)} = bad_; ${JS(3)} = bad_; }`;
}

/** Singular values (column norms of G) in descending stable order: so, and each column's rank. */
function svdOrderCode(mt: number, nt: number): string {
  return `  // norms, descending stable order
  ${
    par(
      "j",
      `${nt}`,
      `var d = 0.0; for (var r = 0; r < ${mt}; r++) { let x = g[gb + j * ${mt} + r]; d += x * x; }
    sv[sb + j] = sqrt(d);`,
    )
  }
  sync();
  ${
    par(
      "j",
      `${nt}`,
      `let sj = sv[sb + j]; var rk = 0;
    for (var i = 0; i < ${nt}; i++) { let si = sv[sb + i]; if (si > sj || (si == sj && i < j)) { rk++; } }
    rank[sb + j] = f32(rk); so[sb + rk] = sj;`,
    )
  }
  sync();`;
}

/** gs, vs: G's and V's columns in that order, each right vector's largest entry positive. */
function svdSortVectorsCode(mt: number, nt: number): string {
  return `${
    par(
      "t",
      `${mt * nt}`,
      `let j = t / ${mt}; let r = t % ${mt}; gs[gb + i32(rank[sb + j]) * ${mt} + r] = g[gb + t];`,
    )
  }
  ${
    par(
      "t",
      `${nt * nt}`,
      `let j = t / ${nt}; let i = t % ${nt}; vs[vb + i32(rank[sb + j]) * ${nt} + i] = v[vb + t];`,
    )
  }
  ${par("j", `${nt}`, `sv[sb + j] = so[sb + j];`)}
  sync();
  // each right vector's largest entry positive (flipping its column of gs too)
  ${
    par(
      "j",
      `${nt}`,
      `var best = 0.0;
    for (var i = 0; i < ${nt}; i++) { let x = vs[vb + j * ${nt} + i]; if (abs(x) > abs(best)) { best = x; } }
    if (best < 0.0) {
      for (var i = 0; i < ${nt}; i++) { vs[vb + j * ${nt} + i] = -vs[vb + j * ${nt} + i]; }
      for (var r = 0; r < ${mt}; r++) { gs[gb + j * ${mt} + r] = -gs[gb + j * ${mt} + r]; }
    }`,
    )
  }
  sync();`;
}

/**
 * svd: s descending, u and vt as the CPU (fullMatrices, computeUv); the Jacobi rounds and both
 * loops of U's completion split over dispatches within the loop budget.
 */
export function renderSvd(a: Aval, p: SvdParams, maxWg: number, budget = Infinity): LinalgSteps {
  const [m, n] = a.shape.slice(-2), k = Math.min(m, n);
  const count = sizeOf(a.shape.slice(0, -2));
  if (count * Math.max(m, n) === 0) return { dispatches: [], temps: [], loops: 0 };
  // no singular values: only u (m×m identity when full) and vt (n×n identity when full)
  if (k === 0) return emptySvd(a, p, maxWg, count);
  const trans = m < n, mt = Math.max(m, n), nt = k, N = nt + (nt % 2);
  const uc = p.fullMatrices ? mt : nt;
  const uvFull = p.computeUv;
  const tmp: [string, number][] = [
    ["g", mt * nt],
    ["v", nt * nt],
    ["cs", N / 2 * 3],
    ["sv", nt],
    ["rank", nt],
    ["jst", 4],
  ];
  if (uvFull) {
    tmp.push(["gs", mt * nt], ["vs", nt * nt], ["u", mt * uc], ["flag", uc], ["dots", uc]);
  }
  // the temporaries as regions of one f32 buffer (so the kernel binds at most 5 buffers)
  const regions = (code: string) => {
    let off = 0;
    for (const [nm, len] of tmp) {
      code = code.replace(new RegExp(`\\b${nm}\\[`, "g"), `ws[${off} + `);
      off += count * len;
    }
    return code;
  };
  const size = tmp.reduce((t, [, len]) => t + count * len, 0);
  const f32 = (bind: string) => ({ bind, type: "f32" as const });
  const ph = new LinalgPhases(count, maxWg, budget, {
    a: f32("in0"),
    so: f32("out0"),
    uo: f32("out1"),
    vto: f32("out2"),
  }).temp("ws", "f32", size);
  const outs = uvFull ? ["so", "uo", "vto"] : ["so"];
  const fns = `${REDUCE_FNS}\n${pairCode(N)}\nvar<workgroup> need: f32;`;
  const head = bases(mt, nt, uc);
  const exit = `  if (wmax(lid, ${JS(3)}) != 0.0) { return; }\n`;
  const once = (use: string[], body: string, loops: number, exits = true) =>
    ph.once(use, regions(`${head}${exits ? exit : ""}${body}`), loops, fns);
  const loop = (v: string, steps: number, cost: (s: number) => number, body: string) =>
    ph.loop(["ws"], v, steps, cost, regions(body), {
      extra: fns,
      pre: regions(`${head}${exit}`),
      fixed: Math.log2(LINALG_WG),
    });
  once(
    ["a", "ws", ...outs],
    svdLoadCode(m, n, trans, uc, uvFull),
    spreadIters(mt * nt) + spreadIters(nt * nt) + Math.log2(LINALG_WG) + spreadIters(nt) +
      2 * spreadIters(mt * mt),
    false,
  );
  loop(
    "R",
    MAX_SWEEPS * (N - 1),
    () => JACOBI_ROUND_LOOPS + 1 + spreadIters(N / 2) * (mt + 1) + spreadIters(N / 2 * (mt + nt)),
    jacobiRound(N - 1, JS, roundCode(mt, nt)),
  );
  const order = 2 * spreadIters(nt) * (mt + nt) + 2 * spreadIters(mt * nt) +
    2 * spreadIters(nt * nt) + 2 * spreadIters(nt) + spreadIters(uc) + Math.log2(LINALG_WG);
  if (!uvFull) {
    once(["ws", "so"], svdOrderCode(mt, nt), order);
    return ph.done();
  }
  once(
    ["ws", "so"],
    `${svdOrderCode(mt, nt)}
  ${svdSortVectorsCode(mt, nt)}
  ${par("b", `${uc}`, "flag[fb + b] = 0.0;")}`,
    order,
  );
  const [kept, completed] = orthoCode(mt, nt, uc).map((c) => c.replaceAll("MT", `${mt}`));
  loop("j", uc, () => orthoStepLoops(mt, uc), kept);
  loop("j", uc, () => orthoStepLoops(mt, uc), completed);
  once(
    ["ws", "uo", "vto"],
    outputsCode(m, n, mt, nt, uc, trans),
    2 * spreadIters(mt * mt) + spreadIters(m) * (m + n),
  );
  return ph.done();
}

/** Writes u (m × ·) and vt (· × n) from U (mt×uc, columns) and vs (nt×nt, columns). */
function outputsCode(m: number, n: number, mt: number, nt: number, uc: number, trans: boolean) {
  if (!trans) {
    // u = U (m×uc), vt = vsᵀ (nt×n): vt[j][i] = vs[:, j][i]
    return `${
      par(
        "t",
        `${m * uc}`,
        `let i = t / ${uc}; let j = t % ${uc}; uo[q * ${m * uc} + t] = u[ub + j * ${mt} + i];`,
      )
    }
  ${
      par(
        "t",
        `${nt * n}`,
        `let j = t / ${n}; let i = t % ${n}; vto[q * ${nt * n} + t] = vs[vb + j * ${nt} + i];`,
      )
    }`;
  }
  // aᵀ = U S vsᵀ ⇒ a = vs S Uᵀ: u = vs (m×m), vt = Uᵀ (uc×n); then each row of vt's largest
  // entry positive (flipping u's column)
  return `${
    par(
      "t",
      `${m * m}`,
      `let i = t / ${m}; let j = t % ${m}; uo[q * ${m * m} + t] = vs[vb + j * ${nt} + i];`,
    )
  }
  ${
    par(
      "t",
      `${uc * n}`,
      `let j = t / ${n}; let i = t % ${n}; vto[q * ${uc * n} + t] = u[ub + j * ${mt} + i];`,
    )
  }
  sync();
  ${
    par(
      "c",
      `${m}`,
      `var best = 0.0;
    for (var i = 0; i < ${n}; i++) { let x = vto[q * ${
        uc * n
      } + c * ${n} + i]; if (abs(x) > abs(best)) { best = x; } }
    if (best < 0.0) {
      for (var i = 0; i < ${n}; i++) { vto[q * ${uc * n} + c * ${n} + i] = -vto[q * ${
        uc * n
      } + c * ${n} + i]; }
      for (var i = 0; i < ${m}; i++) { uo[q * ${m * m} + i * ${m} + c] = -uo[q * ${
        m * m
      } + i * ${m} + c]; }
    }`,
    )
  }`;
}

/** svd of m×0 or 0×n matrices: s empty; full u and vt are identities (empty otherwise). */
function emptySvd(a: Aval, p: SvdParams, maxWg: number, count: number): LinalgSteps {
  const [m, n] = a.shape.slice(-2);
  if (!p.computeUv || !p.fullMatrices) return { dispatches: [], temps: [], loops: 0 };
  const body = `  ${
    par("t", `${m * m}`, `uo[q * ${m * m} + t] = select(0.0, 1.0, t / ${m} == t % ${m});`)
  }
  ${par("t", `${n * n}`, `vto[q * ${n * n} + t] = select(0.0, 1.0, t / ${n} == t % ${n});`)}`;
  const s = perMatrix(
    count,
    maxWg,
    decls([], [["uo", "f32"], ["vto", "f32"]]),
    body,
  );
  return {
    dispatches: [{ ...s, bind: ["out1", "out2"] }],
    temps: [],
    loops: spreadIters(m * m) + spreadIters(n * n),
  };
}

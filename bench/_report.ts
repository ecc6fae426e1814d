/**
 * Turns the measured rows into the per-workload tables (stdout and bench/RESULTS.md):
 * median and min time, GFLOP/s, the ratio of ours (eager and jit) to every row, checks, notes.
 * @module
 */
import { fmtMs, fmtRatio, median } from "./_harness.ts";
import { type CaseKey, CASES } from "./_workloads.ts";

/** One implementation's outcome on one case. */
export interface Row {
  impl: string;
  ours?: "eager" | "jit";
  /** ms per run (per call for W3), warm-up excluded; empty when not measured. */
  times: number[];
  warmup?: number;
  calls?: number;
  note?: string;
  /** Why there is no measurement ("n/a (...)"). */
  error?: string;
  /** Check values from the warm-up run. */
  check?: Float32Array;
  /** Outcome of the comparison with the other rows, e.g. "✓ vs numpy (max |Δ| 3e-7)". */
  checkText?: string;
}

/** Median in the case's unit (ms, or µs for W3), or NaN. */
export function shown(row: Row, key: CaseKey): number {
  if (!row.times.length) return NaN;
  return median(row.times) * (CASES[key].unit === "µs" ? 1000 : 1);
}

function minShown(row: Row, key: CaseKey): number {
  if (!row.times.length) return NaN;
  return Math.min(...row.times) * (CASES[key].unit === "µs" ? 1000 : 1);
}

function fmtTime(v: number, key: CaseKey): string {
  if (!Number.isFinite(v)) return "—";
  return CASES[key].unit === "µs" ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : fmtMs(v);
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The markdown table of one case, with its summary lines. */
export function caseTable(key: CaseKey, rows: Row[]): string {
  const d = CASES[key];
  const u = d.unit === "µs" ? "µs/call" : "ms";
  const eager = rows.find((r) => r.ours === "eager");
  const jit = rows.find((r) => r.ours === "jit");
  const te = eager ? shown(eager, key) : NaN, tj = jit ? shown(jit, key) : NaN;
  const lines = [
    `### ${d.id}${
      key.startsWith("W3") ? (key === "W3f" ? " (forward)" : " (forward+grad)") : ""
    }: ${d.title}`,
    "",
    `${d.shapes}${d.gflop ? `; work ${d.gflop} GFLOP` : ""}; check values: ${d.check}`,
    "",
    ...(d.target ? [`Target: ${d.target}.`, ""] : []),
    `| implementation | median ${u} | min ${u} | runs | GFLOP/s | ours eager ÷ this | ours jit ÷ this | check | notes |`,
    "|---|---:|---:|---:|---:|---:|---:|---|---|",
  ];
  for (const r of rows) {
    const t = shown(r, key);
    const gf = d.gflop && Number.isFinite(t) ? (d.gflop / (t / 1000)).toFixed(2) : "—";
    const runs = r.times.length
      ? `${r.times.length}${r.calls && r.calls > 1 ? `×${r.calls}` : ""}`
      : "—";
    const time = Number.isFinite(t) ? fmtTime(t, key) : "n/a";
    const notes = [
      ...(Number.isFinite(t) ? [] : [`**n/a: ${r.error ?? "not measured"}**`]),
      ...(r.note ? [r.note] : []),
    ].join("; ");
    lines.push(
      `| ${cell(r.impl)} | ${cell(time)} | ${fmtTime(minShown(r, key), key)} | ${runs} | ${gf} | ${
        r.ours === "eager" ? "—" : fmtRatio(te / t)
      } | ${r.ours === "jit" ? "—" : fmtRatio(tj / t)} | ${cell(r.checkText ?? "—")} | ${
        cell(notes)
      } |`,
    );
  }
  const summary = [
    `jit/eager (ours): ${fmtRatio(tj / te)}${
      tj / te > 1.05 ? " (**> 1: jit slower than eager**)" : ""
    }`,
  ];
  const jaxE = rows.find((r) => r.impl === "jax-js wasm"),
    jaxJ = rows.find((r) => r.impl === "jax-js wasm jit");
  if (jaxE?.times.length && jaxJ?.times.length) {
    summary.push(`jit/eager (jax-js wasm): ${fmtRatio(shown(jaxJ, key) / shown(jaxE, key))}`);
  }
  if (key === "W2" && jit?.note) summary.push(`kernels per step (ours): ${jit.note}`);
  lines.push("", summary.join("; "), "");
  return lines.join("\n");
}

/** A plain-text rendering of a case for the terminal. */
export function consoleTable(key: CaseKey, rows: Row[]): string {
  const d = CASES[key];
  const u = d.unit === "µs" ? "µs/call" : "ms";
  const eager = rows.find((r) => r.ours === "eager");
  const jit = rows.find((r) => r.ours === "jit");
  const te = eager ? shown(eager, key) : NaN, tj = jit ? shown(jit, key) : NaN;
  const head = [
    "implementation",
    `median ${u}`,
    `min ${u}`,
    "runs",
    "GFLOP/s",
    "eager÷this",
    "jit÷this",
    "check",
  ];
  const body = rows.map((r) => {
    const t = shown(r, key);
    return [
      r.impl,
      Number.isFinite(t) ? fmtTime(t, key) : `n/a (${(r.error ?? "not measured").slice(0, 70)})`,
      fmtTime(minShown(r, key), key),
      r.times.length ? `${r.times.length}${r.calls && r.calls > 1 ? `x${r.calls}` : ""}` : "-",
      d.gflop && Number.isFinite(t) ? (d.gflop / (t / 1000)).toFixed(2) : "-",
      r.ours === "eager" ? "-" : fmtRatio(te / t),
      r.ours === "jit" ? "-" : fmtRatio(tj / t),
      r.checkText ?? "-",
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((
      c,
      i,
    ) => (i === 0 || i === 1 && c.startsWith("n/a") ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ");
  const title = `${d.id}${key === "W3f" ? " fwd" : key === "W3g" ? " fwd+grad" : ""}: ${d.title}`;
  const out = [title, line(head), ...body.map(line), `  jit/eager (ours): ${fmtRatio(tj / te)}`];
  if (d.target) out.push(`  target: ${d.target}`);
  if (key === "W2" && jit?.note) out.push(`  kernels per step (ours): ${jit.note}`);
  return out.join("\n") + "\n";
}

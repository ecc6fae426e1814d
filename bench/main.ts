/**
 * tracegrad benchmark suite: runs the workloads of shared/WORKLOADS.md for tracegrad (eager and
 * jit) and its peers (jax-js, tfjs cpu/wasm, onnxruntime-node, NumPy) in one run, checks our
 * results against the peers' before timing them, prints the tables and writes bench/RESULTS.md.
 *
 * Run: `deno task bench` (or `deno run -A bench/main.ts --help`).
 * @module
 */
import process from "node:process";
import os from "node:os";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Budget,
  type Case,
  compare,
  errText,
  FULL_BUDGET,
  type Impl,
  measure,
  measureAlternating,
  now,
  QUICK_BUDGET,
  quiesce,
  warmUp,
} from "./_harness.ts";
import { type Host, LocalHost, TimeLimit, WorkerHost } from "./_hosts.ts";
import type { Group, RowInfo } from "./_groups.ts";
import { CASE_KEYS, type CaseKey, CASES, inputsOf } from "./_workloads.ts";
import { type OursInfo, setupOurs } from "./_ours.ts";
import { oursFactories } from "./_impl_ours.ts";
import { caseTable, consoleTable, type Row } from "./_report.ts";
import { latencySection } from "./_latency_md.ts";

const HELP = `Usage: deno run -A bench/main.ts [options]   (deno task bench)
  --only W1,W3        run only these workloads (W1..W9, SORT, FFT, SOLVE; W3 runs forward and forward+grad;
                      LAT alone: the latency table of bench/latency.ts, --quick for a smoke run)
  --quick             smoke test: ~0.4 s per case, 50 calls per W3 batch (numbers not for quoting)
  --budget S          seconds of measured runs per case (default 3; at least 1 run after 1 warm-up)
  --backend NAME      tracegrad backend (default: $TRACEGRAD_BACKEND, else the library default)
  --peers LIST        comma list of jax-js,webgpu,tfjs,ort,numpy (default all; "none" for ours only)
  --ort-subprocess    run onnxruntime-node in a Node subprocess even if Deno loads it
  --no-workers        run jax-js and tfjs in the main thread (no per-case time limit)
  --max-minutes M     skip the remaining peer cases after M minutes (default 9; quick 5; ours always run)
  --out FILE          where to write the results (default bench/RESULTS.md)`;

interface Opts {
  only: Set<CaseKey>;
  quick: boolean;
  budget: Budget;
  backend?: string;
  peers: Set<string>;
  ortSubprocess: boolean;
  workers: boolean;
  maxMinutes: number;
  out: string;
}

const ALL_PEERS = ["jax-js", "webgpu", "tfjs", "ort", "numpy"];

function parseArgs(argv: string[]): Opts {
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === name || a.startsWith(name + "="));
    if (i < 0) return undefined;
    const a = argv[i];
    if (a.includes("=")) return a.slice(a.indexOf("=") + 1);
    if (i + 1 >= argv.length) throw new RangeError(`bench: ${name} needs a value`);
    return argv[i + 1];
  };
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    process.exit(0);
  }
  const VALUED = ["--only", "--budget", "--backend", "--peers", "--max-minutes", "--out"];
  const FLAGS = ["--quick", "--ort-subprocess", "--no-workers"];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].split("=")[0];
    if (VALUED.includes(name)) {
      if (!argv[i].includes("=")) i++;
    } else if (!FLAGS.includes(argv[i])) {
      throw new RangeError(`bench: unknown argument ${argv[i]} (see --help)`);
    }
  }
  const quick = argv.includes("--quick");
  const budget = { ...(quick ? QUICK_BUDGET : FULL_BUDGET) };
  const b = get("--budget");
  if (b !== undefined) {
    if (!(Number(b) > 0)) {
      throw new RangeError(`bench: --budget must be a positive number of seconds, got ${b}`);
    }
    budget.seconds = Number(b);
  }
  const only = new Set<CaseKey>();
  const o = get("--only");
  for (
    const id of (o ?? "W1,W2,W3,W4,W5,W6,W7,SORT,W8,W9,FFT,SOLVE").split(",").map((s) =>
      s.trim().toUpperCase()
    )
      .filter(
        Boolean,
      )
  ) {
    const keys = CASE_KEYS.filter((k) => CASES[k].id === id || k.toUpperCase() === id);
    if (!keys.length) {
      throw new RangeError(`bench: --only names unknown workload ${id} (W1..W9, SORT, FFT, SOLVE)`);
    }
    keys.forEach((k) => only.add(k));
  }
  const p = get("--peers");
  const peers = new Set(
    p === undefined ? ALL_PEERS : p === "none" ? [] : p.split(",").map((s) => s.trim()),
  );
  for (const name of peers) {
    if (!ALL_PEERS.includes(name)) {
      throw new RangeError(`bench: --peers names unknown peer ${name} (${ALL_PEERS.join(", ")})`);
    }
  }
  const mm = get("--max-minutes");
  if (mm !== undefined && !(Number(mm) > 0)) {
    throw new RangeError(`bench: --max-minutes must be a positive number, got ${mm}`);
  }
  return {
    only,
    quick,
    budget,
    backend: get("--backend") ?? (process.env.TRACEGRAD_BACKEND || undefined),
    peers,
    ortSubprocess: argv.includes("--ort-subprocess"),
    workers: !argv.includes("--no-workers"),
    maxMinutes: mm !== undefined ? Number(mm) : quick ? 5 : 9,
    out: get("--out") ?? new URL("./RESULTS.md", import.meta.url).pathname,
  };
}

function log(s: string): void {
  process.stderr.write(s + "\n");
}

const T_START = now();
const ROOT = new URL("..", import.meta.url).pathname;
let deadline = Infinity;

/** Runs one of our cases in the main thread: warm-up (with check values), check, measured runs. */
/**
 * Runs our eager and jit cases of one workload: each is set up, warmed up and checked, then the
 * two that pass are timed in alternation (measureAlternating), so that their jit/eager ratio is
 * not moved by drift in machine load; one alone is timed by itself.
 */
async function runOurs(
  impls: Impl[],
  key: CaseKey,
  opts: Opts,
  verify: (check: Float32Array | undefined) => string | undefined,
): Promise<Row[]> {
  const rows: Row[] = [], cases: (Case | undefined)[] = [];
  try {
    for (const impl of impls) {
      const row: Row = { impl: impl.name, ours: impl.ours, times: [] };
      rows.push(row);
      let c: Case | undefined;
      try {
        c = await impl.factories[key]!(inputsOf(key), { w3Calls: opts.budget.w3Calls });
        const w = await warmUp(c, opts.budget);
        Object.assign(row, { check: w.check, warmup: w.warmup, calls: w.calls, note: w.note });
        const wrong = verify(row.check);
        if (wrong) row.error = wrong;
      } catch (e) {
        row.error = errText(e);
      }
      cases.push(row.error ? undefined : c);
      if (row.error) c?.dispose?.();
    }
    const live = cases.flatMap((c, i) => (c ? [[c, rows[i]] as const] : []));
    try {
      if (live.length === 2) {
        const [ta, tb] = await measureAlternating(live[0][0], live[1][0], opts.budget);
        [live[0][1].times, live[1][1].times] = [ta, tb];
      } else if (live.length === 1) live[0][1].times = await measure(live[0][0], opts.budget);
    } catch (e) {
      for (const [, r] of live) [r.error, r.times] = [errText(e), []];
    }
  } finally {
    for (const c of cases) {
      try {
        c?.dispose?.();
      } catch { /* ignore */ }
    }
  }
  return rows;
}

/** Runs one peer case in its host, within time limits derived from the budget. */
async function runPeer(host: Host, info: RowInfo, key: CaseKey, opts: Opts): Promise<Row> {
  const row: Row = { impl: info.name, times: [] };
  if (!info.keys.includes(key)) return { ...row, error: info.reasons[key] ?? "not implemented" };
  if (now() > deadline) return { ...row, error: "skipped: --max-minutes reached" };
  const cap = CASES[key].peerSeconds ?? Infinity;
  const b = { ...opts.budget, maxWarmupSeconds: Math.min(opts.budget.maxWarmupSeconds, cap) };
  try {
    const w = await host.warmup(info.name, key, b, b.maxWarmupSeconds * 1000 + 15_000);
    Object.assign(row, { check: w.check, warmup: w.warmup, calls: w.calls, note: w.note });
    // the first run may include compilation; a measured run may take up to maxWarmupSeconds
    row.times = await host.measure(b, (b.seconds + b.maxWarmupSeconds + 10) * 1000);
  } catch (e) {
    row.times = [];
    row.error = e instanceof TimeLimit
      ? `too slow: ${row.warmup === undefined ? "first run" : "measured run"} ${e.message}`
      : errText(e);
  }
  return row;
}

/** Writes the inputs of `keys` as raw float32 files and returns the subprocess spec. */
function writeSpec(
  dir: string,
  keys: CaseKey[],
  budget: Budget,
  extra: Record<string, unknown> = {},
): string {
  const cases = keys.map((key) => {
    const inputs: Record<string, { file: string; shape: number[] }> = {};
    for (const [name, a] of Object.entries(inputsOf(key))) {
      const file = join(dir, `in_${key}_${name}.f32`);
      if (!existsSync(file)) {
        writeFileSync(file, new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
      }
      inputs[name] = { file, shape: a.shape };
    }
    return { key, inputs };
  });
  const path = join(dir, `spec_${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ budget, outDir: dir, cases, ...extra }));
  return path;
}

interface SubResult {
  key: CaseKey;
  impl: string;
  times?: number[];
  warmup?: number;
  calls?: number;
  check?: string;
  error?: string;
  note?: string;
}

/** Runs a subprocess runner; returns its runtime info and rows by case. */
function runSubprocess(
  cmd: string,
  args: string[],
  label: string,
  timeoutMs: number,
): { runtime: Record<string, unknown>; rows: Map<CaseKey, Row[]> } {
  log(`${label}: ${cmd} ${args.map((a) => a.replace(os.tmpdir(), "$TMP")).join(" ")}`);
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 << 20,
    cwd: ROOT,
    timeout: timeoutMs,
  });
  if (r.error) {
    const timedOut = (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT";
    throw new Error(
      timedOut
        ? `${cmd} stopped after ${(timeoutMs / 1000).toFixed(0)} s`
        : `${cmd} could not start: ${r.error.message}`,
    );
  }
  const lines = String(r.stdout ?? "").trim().split("\n");
  if (r.status !== 0) {
    throw new Error(
      `${cmd} exited with status ${r.status}${
        lines.at(-1) ? `: ${lines.at(-1)!.slice(0, 120)}` : ""
      }`,
    );
  }
  const parsed = JSON.parse(lines.at(-1) ?? "{}") as {
    runtime: Record<string, unknown>;
    results: SubResult[];
  };
  const rows = new Map<CaseKey, Row[]>();
  for (const s of parsed.results) {
    const row: Row = {
      impl: s.impl,
      times: s.times ?? [],
      warmup: s.warmup,
      calls: s.calls,
      note: s.note,
      error: s.error,
    };
    if (s.check) {
      const b = readFileSync(s.check);
      row.check = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
    if (!s.error && !row.times.length) {
      row.error = `too slow: warm-up took ${((s.warmup ?? 0) / 1000).toFixed(1)} s`;
    }
    rows.set(s.key, [...(rows.get(s.key) ?? []), row]);
  }
  return { runtime: parsed.runtime ?? {}, rows };
}

function sh(cmd: string, args: string[]): string | undefined {
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return r.status === 0 ? String(r.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? "unknown";
}

/** Preference of the peer named in the check column (a native reference first). */
const REF_ORDER = ["numpy", "onnxruntime-node", "tfjs cpu", "jax-js wasm"];

/** Compares `check` with every peer row; says how many agree and the difference to the preferred one. */
function checkAgainst(
  check: Float32Array | undefined,
  refs: Row[],
  key: CaseKey,
): { text: string; wrong: boolean } {
  if (!check) return { text: "no check values", wrong: false };
  const withCheck = refs.filter((r) => r.check && !r.ours);
  if (!withCheck.length) return { text: "unchecked (no peer result)", wrong: false };
  const rank = (r: Row) =>
    (REF_ORDER.indexOf(r.impl) + REF_ORDER.length + 1) % (REF_ORDER.length + 1);
  withCheck.sort((a, b) => rank(a) - rank(b));
  const bad: string[] = [];
  let agree = 0, main = "";
  for (const r of withCheck) {
    const d = compare(check, r.check!, CASES[key].rtol);
    const diff = d.reason ?? `max|Δ| ${d.maxAbs.toExponential(1)}`;
    if (d.ok) {
      agree++;
      if (!main) main = `${diff} vs ${r.impl}, max|ref| ${d.maxRef.toPrecision(3)}`;
    } else bad.push(`✗ ${r.impl} (${diff})`);
  }
  const text = `${agree ? "✓" : "✗"} ${agree}/${withCheck.length} peers agree${
    main ? `; ${main}` : ""
  }${bad.length ? `; ${bad.join(", ")}` : ""}`;
  return { text, wrong: agree === 0 };
}

async function main(): Promise<number> {
  let opts: Opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    log((e as Error).message);
    return 2;
  }
  deadline = T_START + opts.maxMinutes * 60_000;
  if (!process.env.XDG_RUNTIME_DIR) {
    // WebGPU adapter probes (tracegrad's init, jax-js) complain on stderr when this is unset
    const xdg = join(os.tmpdir(), "tracegrad-bench-xdg");
    mkdirSync(xdg, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = xdg;
  }
  const keys = CASE_KEYS.filter((k) => opts.only.has(k));
  const threads = navigator.hardwareConcurrency || os.cpus().length || 1;
  const peerStatus: string[] = [];
  const runtimes: string[] = [];

  // tracegrad
  let info: OursInfo;
  try {
    info = await setupOurs(opts.backend);
  } catch (e) {
    log(
      `bench: cannot set up tracegrad${opts.backend ? ` with backend ${opts.backend}` : ""}: ${
        errText(e)
      }`,
    );
    return 2;
  }
  log(`tracegrad ${info.version}, backend ${info.backend}; conv via ${info.paths.conv}`);
  const oursImpls: Impl[] = (["eager", "jit"] as const).map((mode) => ({
    name: `tracegrad ${mode}`,
    ours: mode,
    factories: oursFactories(mode),
  }));

  // peers in workers (jax-js, tfjs) or in-process (onnxruntime-node)
  const hosts: { host: Host; rows: RowInfo[] }[] = [];
  const groups: Group[] = (["jax-js", "tfjs", "ort"] as const).filter((g) =>
    opts.peers.has(g) && !(g === "ort" && opts.ortSubprocess)
  );
  let ortViaNode = opts.peers.has("ort") && opts.ortSubprocess;
  for (const g of groups) {
    const args = { webgpu: opts.peers.has("webgpu"), threads };
    const host: Host = opts.workers && g !== "ort"
      ? new WorkerHost(g, args)
      : new LocalHost(g, args);
    try {
      log(`loading ${g}${host instanceof WorkerHost ? " (worker)" : ""} ...`);
      const info = await host.load(120_000);
      hosts.push({ host, rows: info.rows });
      peerStatus.push(...info.status);
    } catch (e) {
      host.close();
      if (g === "ort") {
        log(`onnxruntime-node does not load in-process (${errText(e)}); trying a Node subprocess`);
        ortViaNode = true;
      } else {peerStatus.push(
          `${g === "jax-js" ? "@jax-js/jax" : "@tensorflow/tfjs"}: n/a (${errText(e)})`,
        );}
    }
  }

  // subprocess peers: run first, for all selected cases
  const subLimit = (n: number) =>
    (30 + n * (2 * opts.budget.seconds + opts.budget.maxWarmupSeconds + 10)) * 1000;
  const tmp = mkdtempSync(join(os.tmpdir(), "tracegrad-bench-"));
  const subRows = new Map<CaseKey, Row[]>();
  const addSub = (m: Map<CaseKey, Row[]>) =>
    m.forEach((rs, k) => subRows.set(k, [...(subRows.get(k) ?? []), ...rs]));
  if (opts.peers.has("numpy") && keys.length) {
    try {
      const r = runSubprocess(
        "python3",
        [
          new URL("./_numpy_runner.py", import.meta.url).pathname,
          writeSpec(tmp, keys, opts.budget),
        ],
        "numpy",
        subLimit(keys.length),
      );
      addSub(r.rows);
      const rt = r.runtime as Record<string, string | null>;
      runtimes.push(
        `Python ${rt.python}, NumPy ${rt.numpy}${rt.blas ? ` (${rt.blas})` : ""}, SciPy ${
          rt.scipy ?? "absent"
        }`,
      );
      peerStatus.push(
        `NumPy ${rt.numpy}: works (python3 subprocess)${
          rt.scipy ? `; SciPy ${rt.scipy} for W4` : ""
        }`,
      );
    } catch (e) {
      peerStatus.push(`NumPy: n/a (${errText(e)})`);
    }
  }
  if (ortViaNode) {
    const ortKeys = keys; // the runner answers "forward only" for the training cases
    try {
      const runner = new URL("./_ort_runner.mjs", import.meta.url).pathname;
      const r = runSubprocess(
        "node",
        [runner, writeSpec(tmp, ortKeys, opts.budget, { threads })],
        "onnxruntime-node",
        subLimit(ortKeys.length),
      );
      addSub(r.rows);
      peerStatus.push(
        `onnxruntime-node ${r.runtime.ort}: works in a Node ${r.runtime.node} subprocess (${threads} threads)`,
      );
    } catch (e) {
      peerStatus.push(`onnxruntime-node: n/a (${errText(e)})`);
    }
  }

  // the cases
  const results = new Map<CaseKey, Row[]>();
  let oursBad = 0;
  for (const key of keys) {
    const rows: Row[] = [];
    for (const { host, rows: infos } of hosts) {
      for (const info of infos) {
        if (info.keys.includes(key)) log(`${key.padEnd(4)} ${info.name} ...`);
        rows.push(await runPeer(host, info, key, opts));
      }
    }
    rows.push(...(subRows.get(key) ?? []));
    const waited = await quiesce();
    if (waited > 1000) {
      log(`${key.padEnd(4)} waited ${(waited / 1000).toFixed(1)} s for the CPU to go idle`);
    }
    log(`${key.padEnd(4)} ${oursImpls.map((i) => i.name).join(" + ")} (alternating) ...`);
    const oursRows = await runOurs(oursImpls, key, opts, (check) => {
      const r = checkAgainst(check, rows, key);
      return r.wrong ? `WRONG RESULT, not timed: ${r.text}` : undefined;
    });
    for (const row of oursRows) {
      if (!row.error?.startsWith("WRONG")) row.checkText = checkAgainst(row.check, rows, key).text;
      if (row.error) oursBad++;
    }
    // peers are checked against ours eager (when ours is right)
    const ref = oursRows.find((r) => r.check && !r.error);
    for (const r of rows) {
      if (!r.check) continue;
      if (!ref) r.checkText = "—";
      else {
        const d = compare(r.check, ref.check!, CASES[key].rtol);
        r.checkText = `${d.ok ? "✓" : "✗ differs from ours:"} ${
          d.reason ?? `max|Δ| ${d.maxAbs.toExponential(1)}`
        }`;
      }
    }
    const all = [...oursRows, ...rows];
    results.set(key, all);
    console.log("\n" + consoleTable(key, all));
  }
  rmSync(tmp, { recursive: true, force: true });
  for (const h of hosts) h.host.close();

  // RESULTS.md
  const deno = (globalThis as {
    Deno?: { version: { deno: string; v8: string; typescript: string }; execPath(): string };
  }).Deno;
  const nodeV = sh("node", ["--version"]);
  runtimes.unshift(
    deno
      ? `Deno ${deno.version.deno} (V8 ${deno.version.v8}, TypeScript ${deno.version.typescript})`
      : `Node ${process.versions.node}`,
    ...(nodeV ? [`Node ${nodeV.replace(/^v/, "")} (for subprocess peers)`] : []),
  );
  const md = [
    "# tracegrad benchmark results",
    "",
    `Written by \`bench/main.ts\` (${
      opts.quick
        ? "**--quick: smoke-test budget, not for quoting**"
        : `budget ${opts.budget.seconds} s per case`
    }). ` +
    "Times include reading the result back to JS; median and min over the measured runs " +
    "(W3: µs per call, over batches of calls). Ratios `ours ÷ this` are time ratios measured in this run: " +
    "above 1 means tracegrad is slower.",
    "",
    `Method: each case runs once as warm-up (its result gives the check values; a peer's first run includes its ` +
    `compilation), then measured runs until ${opts.budget.seconds} s are spent (at least ${opts.budget.minRuns}, ` +
    `at most ${opts.budget.maxRuns}). jax-js and tfjs run in Web Workers, stopped when a first run exceeds ` +
    `${opts.budget.maxWarmupSeconds + 15} s or a measurement exceeds ${
      opts.budget.seconds + opts.budget.maxWarmupSeconds + 10
    } s; ` +
    "NumPy runs in a python3 subprocess, onnxruntime-node in-process (else in a Node subprocess). tracegrad runs in " +
    "the main thread and is timed only if its check values agree with at least one peer's (allclose, rtol per workload).",
    "",
    `- date: ${new Date().toISOString()}`,
    `- command: \`${["bench/main.ts", ...process.argv.slice(2)].join(" ")}\``,
    `- machine: ${cpuModel()}; ${threads} logical cores (navigator.hardwareConcurrency); ${
      (os.totalmem() / 2 ** 30).toFixed(0)
    } GiB; ${os.platform()} ${os.release()} ${os.arch()}`,
    `- runtimes: ${runtimes.join("; ")}`,
    `- tracegrad ${info.version}, backend **${info.backend}**${
      info.backends.length ? ` (registered: ${info.backends.join(", ")})` : ""
    }`,
    `- tracegrad entry points: conv → ${info.paths.conv}; relu → ${info.paths.relu}; maxPool → ${info.paths.maxPool2}; logSoftmax → ${info.paths.logSoftmax}`,
    "",
    "## Peers",
    "",
    ...peerStatus.map((s) => `- ${s}`),
    ...(opts.peers.size < ALL_PEERS.length
      ? [`- not requested: ${ALL_PEERS.filter((p) => !opts.peers.has(p)).join(", ")}`]
      : []),
    "",
    "## Results",
    "",
    ...keys.map((k) => caseTable(k, results.get(k)!)),
  ].join("\n");
  // the latency section (`--only LAT`, bench/latency.ts) is kept from the previous file
  const lat = existsSync(opts.out) ? latencySection(readFileSync(opts.out, "utf8")) : "";
  writeFileSync(opts.out, lat ? `${md.trimEnd()}\n\n${lat}` : md);
  if (deno) {
    // keep the file in `deno fmt` form (the repo's fmt check covers bench/)
    spawnSync(deno.execPath(), ["fmt", "--quiet", opts.out], { stdio: "ignore", cwd: ROOT });
  }
  log(`\nwrote ${opts.out} (${((now() - T_START) / 1000).toFixed(0)} s in all)`);
  log(peerStatus.map((s) => `  ${s}`).join("\n"));
  if (oursBad) {
    log(`bench: ${oursBad} tracegrad case(s) failed or gave wrong results (see the tables)`);
  }
  return oursBad ? 1 : 0;
}

const only = process.argv.slice(2).join(" ").match(/--only[= ](\S+)/)?.[1];
(only?.toUpperCase() === "LAT"
  ? import("./latency.ts").then((m) => m.latencyMain(process.argv.slice(2)))
  : main()).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );

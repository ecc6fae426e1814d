/**
 * A peer group (jax-js, tfjs, onnxruntime-node) as a small state machine — load, then per case
 * warm-up and measure — so it can run in a Worker (bench/_peer_worker.ts) that the harness
 * terminates when a case overruns its time, or in the main thread.
 * @module
 */
import {
  type Budget,
  type Case,
  errText,
  type Impl,
  measure,
  type WarmUp,
  warmUp,
} from "./_harness.ts";
import { type CaseKey, inputsOf } from "./_workloads.ts";

/** The in-process peer groups. */
export type Group = "jax-js" | "tfjs" | "ort";

/** Arguments of `load`. */
export interface LoadArgs {
  /** Also run jax-js on webgpu when the runtime offers it. */
  webgpu: boolean;
  /** Intra-op threads for onnxruntime. */
  threads: number;
}

/** One row a group offers. */
export interface RowInfo {
  name: string;
  /** Cases it has a factory for. */
  keys: string[];
  /** Why the other cases are absent. */
  reasons: Record<string, string>;
}

/** What loading a group found. */
export interface GroupInfo {
  rows: RowInfo[];
  /** Lines for the Peers section ("name version: works (...)" / "name: n/a (...)"). */
  status: string[];
}

/** Runs one group's cases. */
export class GroupRunner {
  #impls: Impl[] = [];
  #current?: Case;

  /** Loads the group's package(s). Throws when the main package does not load. */
  async load(group: Group, args: LoadArgs): Promise<GroupInfo> {
    const status: string[] = [];
    if (group === "jax-js") {
      const { loadJaxjs } = await import("./_impl_jaxjs.ts");
      const j = await loadJaxjs(args.webgpu);
      this.#impls = j.impls;
      status.push(`@jax-js/jax ${j.version}: works (devices ${j.devices.join(", ")})`);
    } else if (group === "tfjs") {
      const { loadTfjs } = await import("./_impl_tfjs.ts");
      const t = await loadTfjs();
      this.#impls = t.impls;
      status.push(`@tensorflow/tfjs ${t.version}: works (cpu backend)`);
      status.push(
        t.wasmError
          ? `@tensorflow/tfjs-backend-wasm: n/a (${t.wasmError})`
          : `@tensorflow/tfjs-backend-wasm ${t.version}: works (wasm files from ${
            shownPath(t.wasmDir)
          }); no conv backprop kernels`,
      );
    } else {
      const { loadOrt } = await import("./_impl_ort.ts");
      const o = await loadOrt(args.threads);
      this.#impls = [o.impl];
      status.push(
        `onnxruntime-node ${o.version}: works in-process (${args.threads} intra-op threads)`,
      );
    }
    const rows = this.#impls.map((i) => ({
      name: i.name,
      keys: Object.keys(i.factories).filter((k) => i.factories[k]),
      reasons: i.reasons ?? {},
    }));
    return { rows, status };
  }

  /** Builds the case and runs its warm-up (first run with check values). */
  async warmup(name: string, key: CaseKey, budget: Budget): Promise<WarmUp> {
    this.drop();
    const impl = this.#impls.find((i) => i.name === name);
    const f = impl?.factories[key];
    if (!impl || !f) throw new TypeError(`bench: ${name} has no case ${key}`);
    await impl.enter?.();
    this.#current = await f(inputsOf(key), { w3Calls: budget.w3Calls });
    return await warmUp(this.#current, budget);
  }

  /** Times the warmed-up case, then frees it. */
  async measure(budget: Budget): Promise<number[]> {
    if (!this.#current) throw new TypeError("bench: measure without warmup");
    try {
      return await measure(this.#current, budget);
    } finally {
      this.drop();
    }
  }

  /** Frees the current case. */
  drop(): void {
    try {
      this.#current?.dispose?.();
    } catch (e) {
      console.error(`bench: dispose failed: ${errText(e)}`);
    }
    this.#current = undefined;
  }
}

/**
 * A path as the report prints it: relative to the checkout, from `node_modules/` on, or with
 * Deno's npm cache elided, never the absolute path of the machine that ran it.
 */
export function shownPath(p: string | undefined): string {
  if (!p) return "?";
  const root = new URL("../", import.meta.url).pathname;
  if (p.startsWith(root)) return p.slice(root.length);
  const nm = p.lastIndexOf("/node_modules/");
  if (nm >= 0) return p.slice(nm + 1);
  const cache = p.indexOf("/registry.npmjs.org/");
  if (cache >= 0) return `<deno npm cache>/${p.slice(cache + "/registry.npmjs.org/".length)}`;
  return p.split("/").slice(-3).join("/");
}

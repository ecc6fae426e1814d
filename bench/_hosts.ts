/**
 * Where a peer group runs: in a Worker that is terminated (and restarted for the next case) when
 * a call overruns its limit, or in the main thread (no limit; used when Workers are unavailable
 * and for native onnxruntime, whose calls a terminate could not interrupt anyway).
 * @module
 */
import type { Budget, WarmUp } from "./_harness.ts";
import { type Group, type GroupInfo, GroupRunner, type LoadArgs } from "./_groups.ts";
import type { CaseKey } from "./_workloads.ts";

/** A running peer group. */
export interface Host {
  /** Loads the group (once; again after a restart). */
  load(timeoutMs: number): Promise<GroupInfo>;
  warmup(name: string, key: CaseKey, budget: Budget, timeoutMs: number): Promise<WarmUp>;
  measure(budget: Budget, timeoutMs: number): Promise<number[]>;
  drop(): Promise<void>;
  close(): void;
}

/** Raised when a call overran its limit (the worker was terminated). */
export class TimeLimit extends Error {
  constructor(readonly ms: number) {
    super(`stopped after ${(ms / 1000).toFixed(0)} s`);
  }
}

/** Runs the group in the main thread. */
export class LocalHost implements Host {
  #r = new GroupRunner();
  #info?: GroupInfo;
  constructor(readonly group: Group, readonly args: LoadArgs) {}
  async load(): Promise<GroupInfo> {
    return (this.#info ??= await this.#r.load(this.group, this.args));
  }
  warmup(name: string, key: CaseKey, budget: Budget): Promise<WarmUp> {
    return this.#r.warmup(name, key, budget);
  }
  measure(budget: Budget): Promise<number[]> {
    return this.#r.measure(budget);
  }
  drop(): Promise<void> {
    this.#r.drop();
    return Promise.resolve();
  }
  close(): void {
    this.#r.drop();
  }
}

/** Runs the group in a Worker. */
export class WorkerHost implements Host {
  #w?: Worker;
  #next = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #loaded?: Promise<GroupInfo>;
  #loadTimeout = 120_000;
  constructor(readonly group: Group, readonly args: LoadArgs) {}

  #start(): Worker {
    const w = new Worker(new URL("./_peer_worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (ev: MessageEvent) => {
      const { id, result, error } = ev.data as { id: number; result?: unknown; error?: string };
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(result);
    };
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      const err = new Error(`worker error: ${ev.message}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#kill();
    };
    this.#w = w;
    return w;
  }

  #kill(): void {
    this.#w?.terminate();
    this.#w = undefined;
    this.#loaded = undefined;
  }

  #call<T>(op: string, args: unknown[], timeoutMs: number): Promise<T> {
    const w = this.#w ?? this.#start();
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.has(id)) return;
        this.#pending.delete(id);
        this.#kill();
        reject(new TimeLimit(timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      w.postMessage({ id, op, args });
    });
  }

  load(timeoutMs: number): Promise<GroupInfo> {
    this.#loadTimeout = timeoutMs;
    if (!this.#loaded) {
      this.#loaded = this.#call<GroupInfo>("load", [this.group, this.args], timeoutMs);
      this.#loaded.catch(() => this.#kill());
    }
    return this.#loaded;
  }
  async warmup(name: string, key: CaseKey, budget: Budget, timeoutMs: number): Promise<WarmUp> {
    await this.load(this.#loadTimeout);
    return await this.#call<WarmUp>("warmup", [name, key, budget], timeoutMs);
  }
  measure(budget: Budget, timeoutMs: number): Promise<number[]> {
    return this.#call<number[]>("measure", [budget], timeoutMs);
  }
  async drop(): Promise<void> {
    if (this.#w) await this.#call<void>("drop", [], 30_000).catch(() => this.#kill());
  }
  close(): void {
    this.#kill();
  }
}

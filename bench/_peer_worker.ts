/**
 * Worker entry for one peer group: answers `{id, op, args}` messages (`load`, `warmup`,
 * `measure`, `drop`) with `{id, result}` or `{id, error}`. The harness terminates the worker
 * when an answer takes longer than the case's time limit.
 * @module
 */
import { errText } from "./_harness.ts";
import { GroupRunner } from "./_groups.ts";

interface WorkerScope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(msg: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
const runner = new GroupRunner();

scope.onmessage = async (ev: MessageEvent) => {
  const { id, op, args } = ev.data as {
    id: number;
    op: "load" | "warmup" | "measure" | "drop";
    args: unknown[];
  };
  try {
    // deno-lint-ignore no-explicit-any -- dispatch by name over the runner's four methods
    const result = await (runner as any)[op](...args);
    scope.postMessage({ id, result });
  } catch (e) {
    scope.postMessage({ id, error: errText(e) });
  }
};

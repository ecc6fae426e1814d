/**
 * The one checker for options objects of public functions: an unknown key is a TypeError that
 * names the function, the key and the closest valid name, never silently ignored.
 * @module
 */

/** Edit distance between two strings (insert, delete, substitute; case-insensitive). */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The valid name closest to `key` (snake_case keys are compared in camelCase too). */
export function closestName(key: string, valid: readonly string[]): string | undefined {
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    // a prefix of a valid name (or a valid name plus a suffix) counts as close: approx, jvpRule
    const lk = camel.toLowerCase(), lv = v.toLowerCase();
    const prefix = Math.min(lk.length, lv.length) >= 3 && (lv.startsWith(lk) || lk.startsWith(lv));
    const d = prefix ? 1 : Math.min(distance(key, v), distance(camel, v));
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 2)) ? best : undefined;
}

/**
 * Checks that `opts` is undefined or a plain object whose keys are all in `valid`, and returns
 * it (or `{}`); `op` names the function in the message.
 *
 * @example Unknown keys are errors
 * ```ts
 * import { checkOptions } from "./options.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkOptions("sum", { axis: 0 }, ["axis", "keepdims"]), { axis: 0 });
 * assert.throws(() => checkOptions("sum", { axes: 0 }, ["axis", "keepdims"]), /did you mean "axis"/);
 * ```
 */
export function checkOptions<T extends object>(
  op: string,
  opts: T | undefined | null,
  valid: readonly string[],
): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== "object" || Array.isArray(opts)) {
    throw new TypeError(`${op}: options must be an object, got ${describe(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (valid.includes(key)) continue;
    const near = closestName(key, valid);
    throw new TypeError(
      `${op}: unknown option ${JSON.stringify(key)}${
        near ? `; did you mean ${JSON.stringify(near)}?` : ""
      } (valid options: ${valid.join(", ") || "none"})`,
    );
  }
  return opts;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

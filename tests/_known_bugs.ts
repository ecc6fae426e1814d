/**
 * Strict expected failures for library bugs that are reported but not fixed yet. A known-bug test
 * passes while the bug is present and FAILS once the bug is fixed, so the entry gets removed and the
 * check becomes an ordinary test again.
 * @module
 */

/** Open library bugs, by id: a one-line description (see the report that introduced them). */
export const KNOWN_BUGS: Record<string, string> = {
  // Fixed in 8fa9155: "not-bool" (not on bool stored 254/255), "customvjp-grad-jit" (grad(jit(f))
  // over a customVjp function leaked jit tracers through the bwd closure).
};

/**
 * Runs `check`, which must currently throw because of known bug `id`; throws when it passes.
 * @example
 * ```ts
 * expectKnownBug("some-bug-id", () => checkSomething());
 * ```
 */
export function expectKnownBug(id: string, check: () => void): void {
  const what = KNOWN_BUGS[id];
  if (what === undefined) {
    throw new TypeError(`expectKnownBug: unknown bug id ${JSON.stringify(id)}`);
  }
  let failed = false;
  try {
    check();
  } catch {
    failed = true;
  }
  if (!failed) {
    throw new Error(
      `known bug "${id}" (${what}) seems fixed: remove it from tests/_known_bugs.ts and the expectKnownBug call`,
    );
  }
}

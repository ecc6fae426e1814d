/**
 * Test setup: selects the backend named by the TRACEGRAD_TEST_BACKEND environment variable
 * (default: the library default). Import it first in test files that should run per backend.
 * @module
 */
import { setBackend } from "../mod.ts";

function envBackend(): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(k: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    return g.Deno
      ? g.Deno.env.get("TRACEGRAD_TEST_BACKEND")
      : g.process?.env.TRACEGRAD_TEST_BACKEND;
  } catch {
    return undefined;
  }
}

const name = envBackend();
if (name) setBackend(name);

/** The backend the tests run on. */
export const TEST_BACKEND: string = name ?? "default";

/**
 * The latency section of bench/RESULTS.md: written by bench/latency.ts, kept by bench/main.ts
 * when it rewrites the file (this module imports nothing, so main.ts stays free of the library).
 * @module
 */
/** The heading of the section. */
export const HEAD = "## Latency (small work)";

/** The latency section of a results file's text ("" when it has none). */
export function latencySection(text: string): string {
  const at = text.indexOf(HEAD);
  if (at < 0) return "";
  const next = text.indexOf("\n## ", at + HEAD.length);
  return text.slice(at, next < 0 ? undefined : next + 1).trimEnd() + "\n";
}

/** `text` with its latency section replaced by (or ending with) one holding `table`. */
export function withLatency(text: string, table: string, note: string): string {
  const section = `${HEAD}\n\n${note}\n\n${table}\n`;
  const old = latencySection(text);
  return old ? text.replace(old, section) : `${text.trimEnd()}\n\n${section}`;
}

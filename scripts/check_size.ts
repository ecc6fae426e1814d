// File-size guard: every non-test .ts file of the library (mod.ts, lib/, kernels/) must stay
// at or under MAX_LINES lines. Prints the offenders and exits 1 if there are any.
// Usage: deno run --allow-read scripts/check_size.ts [maxLines]

/** Default line limit per library file. */
export const MAX_LINES = 600;

/**
 * Counts lines the way `wc -l` does for a file that ends with a newline.
 *
 * @param text File contents.
 * @returns Number of lines (a missing final newline still counts the last line).
 */
export function countLines(text: string): number {
  if (text.length === 0) return 0;
  const n = text.split("\n").length;
  return text.endsWith("\n") ? n - 1 : n;
}

async function* walkTs(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walkTs(path);
    else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}

async function main(args: string[]): Promise<number> {
  const max = args[0] ? Number(args[0]) : MAX_LINES;
  Deno.chdir(new URL("../", import.meta.url));
  const files: string[] = [];
  for await (const f of walkTs("lib")) files.push(f);
  for await (const f of walkTs("kernels")) files.push(f);
  try {
    if ((await Deno.stat("mod.ts")).isFile) files.unshift("mod.ts");
  } catch { /* no mod.ts yet */ }
  const offenders: [string, number][] = [];
  let largest: [string, number] = ["-", 0];
  for (const f of files) {
    const n = countLines(await Deno.readTextFile(f));
    if (n > max) offenders.push([f, n]);
    if (n > largest[1]) largest = [f, n];
  }
  for (const [f, n] of offenders) console.error(`too long: ${f}: ${n} lines (max ${max})`);
  console.log(
    `size: ${files.length} files checked, ${offenders.length} over ${max} lines; ` +
      `largest ${largest[0]} (${largest[1]} lines)`,
  );
  return offenders.length === 0 ? 0 : 1;
}

if (import.meta.main && typeof Deno !== "undefined") Deno.exit(await main(Deno.args));

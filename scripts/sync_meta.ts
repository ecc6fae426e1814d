// Keeps package metadata in one place: deno.json is the source of truth.
// Writes jsr.json (name, version, exports, license, publish) from deno.json and checks that package.json
// agrees (same version, npm name "tracegrad"). `--check` only reports drift and exits 1 on any.
// Usage: deno run --allow-read --allow-write scripts/sync_meta.ts [--check]

/** The npm package name that package.json must carry. */
export const NPM_NAME = "tracegrad";

/** A parsed JSON object (deno.json, jsr.json or package.json). */
export type Json = Record<string, unknown>;

/**
 * Builds the expected jsr.json content from deno.json.
 *
 * @param deno Parsed deno.json.
 * @returns The jsr.json object (keys in a fixed order).
 */
export function jsrFromDeno(deno: Json): Json {
  const out: Json = { name: deno.name, version: deno.version, exports: deno.exports };
  for (const key of ["license", "publish"]) if (deno[key] !== undefined) out[key] = deno[key];
  return out;
}

/**
 * Serializes a JSON object the way it is written to disk (2-space indent, final newline).
 *
 * @param value The object.
 * @returns The file text.
 */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/**
 * Lists every way jsr.json and package.json disagree with deno.json.
 *
 * @param deno Parsed deno.json.
 * @param jsr Parsed jsr.json, or `undefined` when the file does not exist.
 * @param pkg Parsed package.json.
 * @returns Human-readable differences; empty when everything is in sync.
 */
export function diffMeta(deno: Json, jsr: Json | undefined, pkg: Json): string[] {
  const problems: string[] = [];
  for (const key of ["name", "version", "exports"]) {
    if (deno[key] === undefined) problems.push(`deno.json: missing "${key}"`);
  }
  const want = jsrFromDeno(deno);
  if (jsr === undefined) {
    problems.push("jsr.json: missing (run `deno task sync`)");
  } else {
    for (const key of new Set([...Object.keys(want), ...Object.keys(jsr)])) {
      const a = JSON.stringify(want[key]);
      const b = JSON.stringify(jsr[key]);
      if (a !== b) problems.push(`jsr.json: "${key}" is ${b}, deno.json says ${a}`);
    }
  }
  if (pkg.version !== deno.version) {
    problems.push(
      `package.json: "version" is ${JSON.stringify(pkg.version)}, deno.json says ${
        JSON.stringify(deno.version)
      }`,
    );
  }
  if (pkg.name !== NPM_NAME) {
    problems.push(`package.json: "name" is ${JSON.stringify(pkg.name)}, expected "${NPM_NAME}"`);
  }
  return problems;
}

async function readJson(path: string): Promise<Json | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`sync_meta: cannot parse ${path}: ${(e as Error).message}`);
  }
}

async function main(args: string[]): Promise<number> {
  const root = new URL("../", import.meta.url);
  const path = (name: string) => new URL(name, root).pathname;
  const deno = await readJson(path("deno.json"));
  const pkg = await readJson(path("package.json"));
  if (deno === undefined || pkg === undefined) {
    console.error("sync_meta: deno.json and package.json must both exist");
    return 1;
  }
  if (!args.includes("--check")) {
    const text = toJsonText(jsrFromDeno(deno));
    const old = await Deno.readTextFile(path("jsr.json")).catch(() => "");
    if (old !== text) {
      await Deno.writeTextFile(path("jsr.json"), text);
      console.log("sync_meta: wrote jsr.json");
    }
    if (pkg.version !== deno.version) {
      // Rewrite only the version line so package.json keeps its layout.
      const raw = await Deno.readTextFile(path("package.json"));
      const fixed = raw.replace(/("version"\s*:\s*)"[^"]*"/, `$1${JSON.stringify(deno.version)}`);
      await Deno.writeTextFile(path("package.json"), fixed);
      console.log(`sync_meta: set package.json version to ${deno.version}`);
    }
  }
  const problems = diffMeta(
    deno,
    await readJson(path("jsr.json")),
    await readJson(path("package.json")) ?? {},
  );
  for (const p of problems) console.error(`drift: ${p}`);
  if (problems.length === 0) {
    console.log(`sync_meta: metadata in sync (${deno.name}@${deno.version})`);
  }
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main && typeof Deno !== "undefined") Deno.exit(await main(Deno.args));

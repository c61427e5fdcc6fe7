// Drives the demo page in headless Chromium like a person would and saves
// what the pytest test compares with the Python SavedModel:
//
//   node tests/browser/stylize.mjs --out DIR [--url http://127.0.0.1:8000/] \
//        [--model-dir DIR] [--screenshot web_demo/screenshot.png]
//
// Without --url it serves web_demo/ itself (and --model-dir at /model/).
// DIR gets report.json (with the controls' values as the page opened) and,
// per run ("foreground", "background", "default": the region control's
// three settings), the page's exact float32 inputs and outputs as
// <run>_<tensor>.bin.

import fs from 'node:fs';
import path from 'node:path';

import { launch, openDemo, parseArgs, serveDemo } from './lib.mjs';

async function runFromUi(page) {
  await page.waitForSelector('#run:not([disabled])');
  await page.click('#run');
  await page.waitForFunction(() => {
    const text = document.getElementById('progress-text').textContent;
    return text.startsWith('Done') || text.startsWith('Failed');
  }, null, { polling: 250 });
  const text = await page.textContent('#progress-text');
  if (!text.startsWith('Done')) throw new Error(`The page reported: ${text}`);
  return page.evaluate(() => window.demo.exportLastRun());
}

function save(out, name, run) {
  const files = {};
  for (const key of ['content', 'style', 'stylized', 'attention']) {
    const file = `${name}_${key}.bin`;
    fs.writeFileSync(path.join(out, file), Buffer.from(run[key], 'base64'));
    files[key] = file;
  }
  const { width, height, seconds, options, backend, contentShape, styleShape } = run;
  return { width, height, seconds, options, backend, contentShape, styleShape, files };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.out) throw new Error('`--out` is required. Received: ' + JSON.stringify(args));
  fs.mkdirSync(args.out, { recursive: true });
  const server = args.url ? null : await serveDemo(undefined, args['model-dir'] || null);
  const url = args.url || server.url;
  const { context, close } = await launch();
  const report = { checks: {}, runs: {} };
  try {
    const { page, backend, errors } = await openDemo(context, url);
    report.backend = backend;
    report.backendDetail = await page.getAttribute('#backend', 'title');

    // What the controls show before anyone touches them, and their ranges.
    report.pageDefaults = await page.evaluate(() => window.demo.readOptions());
    report.config = await page.evaluate(() => window.demo.config);
    report.controls = await page.evaluate(() => ({
      alphaMin: Number(document.getElementById('alpha').min),
      alphaMax: Number(document.getElementById('alpha').max),
      numRegionsMin: Number(document.getElementById('num-regions').min),
      numRegionsMax: Number(document.getElementById('num-regions').max),
      strokeChoices: [...document.querySelectorAll('input[name=stroke]')].map((box) => Number(box.value)),
      regionChoices: [...document.querySelectorAll('#region option')].map((option) => option.value),
    }));

    // The Model menu (web_demo/models.json) and the model this page runs.
    report.modelMenu = await page.evaluate(() => ({
      model: window.demo.model,
      disabled: document.getElementById('model-select').disabled,
      options: [...document.querySelectorAll('#model-select option')].map((option) => ({
        name: option.dataset.name, url: option.value, selected: option.selected,
      })),
    }));

    // A non-image upload gets a clear message.
    await page.setInputFiles('#content-file', {
      name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture'),
    });
    await page.waitForFunction(() => document.getElementById('content-notice').classList.contains('error'));
    report.checks.nonImageNotice = await page.textContent('#content-notice');

    // An image under the minimum size is refused with the minimum named.
    report.checks.tooSmallNotice = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 40;
      canvas.height = window.demo.config.minImageSize - 1;
      canvas.getContext('2d').fillRect(0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      try {
        await window.demo.setImage('content', new File([blob], 'small.png', { type: 'image/png' }));
      } catch (error) {
        // expected: the notice says why
      }
      return document.getElementById('content-notice').textContent;
    });

    // A large upload is downscaled with a visible notice.
    report.checks.downscaleNotice = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 1600;
      canvas.height = 1200;
      const context = canvas.getContext('2d');
      context.fillStyle = '#4a7';
      context.fillRect(0, 0, 1600, 1200);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      await window.demo.setImage('content', new File([blob], 'big.png', { type: 'image/png' }));
      return document.getElementById('content-notice').textContent;
    });

    // Back to the bundled pair; foreground-only and background-only runs,
    // then the default run (region "all").
    await page.click('.samples[data-role=content] button[data-index="0"]');
    await page.click('.samples[data-role=style] button[data-index="0"]');
    await page.waitForFunction(() => !document.getElementById('content-notice').classList.contains('error'));
    for (const [run, region] of [['foreground', 'foreground'], ['background', 'background'], ['default', 'all']]) {
      await page.selectOption('#region', region);
      report.runs[run] = save(args.out, run, await runFromUi(page));
    }
    report.checks.downloadHref = (await page.getAttribute('#download', 'href') || '').slice(0, 22);
    if (args.screenshot) {
      await page.screenshot({ path: args.screenshot, fullPage: true });
      report.screenshot = args.screenshot;
    }
    report.errors = errors;
  } finally {
    await close();
    if (server) server.close();
  }
  fs.writeFileSync(path.join(args.out, 'report.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify({ backend: report.backend, seconds: Object.fromEntries(
    Object.entries(report.runs).map(([k, v]) => [k, v.seconds])) }));
}

main().catch((error) => {
  console.error(`error: ${error.stack || error.message}`);
  process.exit(1);
});

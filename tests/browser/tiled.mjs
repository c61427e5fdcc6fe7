// Drives the demo page's "Full resolution" mode in headless Chromium and
// saves what tests/test_tfjs_browser.py checks:
//
//   node tests/browser/tiled.mjs --url URL --upload photo.png --out DIR
//   node tests/browser/tiled.mjs --model-dir DIR --query '?max_content=64&...' --upload ... --out ...
//
// URL should lower the limits (e.g. ?max_content=64&max_style=64&tile_size=64)
// so that the upload is larger than the page limit. DIR gets report.json:
// the upload's notice and check box; a full-resolution run, with what the
// progress bar and text showed while it ran and how often a 50 ms timer on
// the page ticked meanwhile (the tab stays responsive: the work is in the
// worker); the run's exported inputs and RGBA result (tiled_*.bin); a second
// run cancelled after its first tile; and the refusal of a 4097 x 4097 upload.

import fs from 'node:fs';
import path from 'node:path';

import { launch, openDemo, parseArgs, serveDemo } from './lib.mjs';

const finished = (text) => text.startsWith('Done') || text.startsWith('Failed') || text.startsWith('Cancelled');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const name of ['upload', 'out']) {
    if (!args[name]) throw new Error(`\`--${name}\` is required. Received: ${JSON.stringify(args)}`);
  }
  fs.mkdirSync(args.out, { recursive: true });
  const server = args.url ? null : await serveDemo(undefined, args['model-dir'] || null);
  const url = args.url || `${server.url}${args.query || ''}`;
  const { context, close } = await launch();
  const report = {};
  try {
    const { page, backend, errors } = await openDemo(context, url);
    report.backend = backend;
    report.tiles = await page.evaluate(() => window.demo.tiles);
    await page.click('.samples[data-role=style] button[data-index="0"]');
    await page.setInputFiles('#content-file', args.upload);
    await page.waitForFunction(() => document.getElementById('content-notice').textContent.includes('Full resolution'));
    report.uploadNotice = await page.textContent('#content-notice');
    report.checkboxEnabled = await page.isEnabled('#full-resolution');
    report.checkboxInfo = await page.textContent('#full-resolution-info');
    await page.check('#full-resolution');

    // The full-resolution run, watched every 100 ms.
    await page.evaluate(() => {
      window.ticks = { count: 0, maxGap: 0, last: performance.now() };
      window.tickTimer = setInterval(() => {
        const now = performance.now();
        window.ticks.maxGap = Math.max(window.ticks.maxGap, now - window.ticks.last);
        window.ticks.last = now;
        window.ticks.count += 1;
      }, 50);
    });
    await page.click('#run');
    const seen = [];
    for (;;) {
      const state = await page.evaluate(() => ({
        value: document.getElementById('progress').hasAttribute('value')
          ? Number(document.getElementById('progress').value) : null,
        text: document.getElementById('progress-text').textContent,
        cancelEnabled: !document.getElementById('cancel').disabled,
      }));
      seen.push(state);
      if (finished(state.text)) break;
      await page.waitForTimeout(100);
    }
    report.ticks = await page.evaluate(() => { clearInterval(window.tickTimer); return window.ticks; });
    report.seen = seen;
    report.finalText = seen[seen.length - 1].text;
    const run = await page.evaluate(() => window.demo.exportLastRun());
    if (!run || !run.tiled) throw new Error(`The page reported: ${report.finalText}`);
    report.run = { files: {} };
    for (const key of ['content', 'style', 'attention', 'rgba']) {
      const file = `tiled_${key}.bin`;
      fs.writeFileSync(path.join(args.out, file), Buffer.from(run[key], 'base64'));
      report.run.files[key] = file;
      delete run[key];
    }
    Object.assign(report.run, run);
    report.downloadHref = (await page.getAttribute('#download', 'href') || '').slice(0, 5);
    report.resultCanvas = await page.evaluate(() => {
      const canvas = document.getElementById('result-canvas');
      return [canvas.width, canvas.height];
    });

    // A second run, cancelled once its first tile is done.
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('progress-text').textContent.startsWith('Full'));
    await page.waitForFunction(() => {
      const text = document.getElementById('progress-text').textContent;
      return / 1 of \d+ tiles done/.test(text) || /^(Done|Failed)/.test(text);
    }, null, { polling: 50 });
    const before = await page.textContent('#progress-text');
    if (!/ 1 of \d+ tiles done/.test(before)) throw new Error(`The second run did not show its first tile: ${before}`);
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('progress-text').textContent.startsWith('Cancelled'),
      null, { polling: 100 });
    report.cancelText = await page.textContent('#progress-text');
    report.runEnabledAfterCancel = await page.isEnabled('#run');

    // An upload over maxTiledPixels: downscaled as usual, full resolution refused.
    report.oversize = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 4097;
      canvas.height = 4097;
      const context = canvas.getContext('2d');
      context.fillStyle = '#4a7';
      context.fillRect(0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => { canvas.toBlob(resolve, 'image/png'); });
      canvas.width = 0;
      await window.demo.setImage('content', new File([blob], 'huge.png', { type: 'image/png' }));
      let runError = null;
      try {
        await window.demo.run({ fullResolution: true });
      } catch (error) {
        runError = error.message;
      }
      return {
        notice: document.getElementById('content-notice').textContent,
        checkboxEnabled: !document.getElementById('full-resolution').disabled,
        runError,
      };
    });
    report.errors = errors;
  } finally {
    await close();
    if (server) server.close();
  }
  fs.writeFileSync(path.join(args.out, 'report.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify({ seconds: report.run && report.run.seconds, tiles: report.run && report.run.tiles }));
}

main().catch((error) => {
  console.error(`error: ${error.stack || error.message}`);
  process.exit(1);
});

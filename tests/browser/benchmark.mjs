// In-browser time per image on the wasm backend (headless Chromium):
//
//   node tests/browser/benchmark.mjs [--sizes 256,512] [--repeat 3] [--url URL] [--model-dir DIR]
//
// Content is the bundled bird, resized to SIZE x SIZE; the style is the
// bundled candy at the page's style limit (256 px). The first run includes
// the backend's one-off warm-up; "warm" is the median of the others.

import { launch, openDemo, parseArgs, serveDemo } from './lib.mjs';

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const sizes = (args.sizes || '256,512').split(',').map(Number);
  const repeat = Number(args.repeat || 3);
  if (sizes.some((s) => !Number.isInteger(s) || s < 32 || s > 512) || !(repeat >= 1)) {
    throw new Error(`\`--sizes\` must be ints in [32, 512] and \`--repeat\` >= 1. Received: sizes=${args.sizes}, repeat=${args.repeat}`);
  }
  const server = args.url ? null : await serveDemo(undefined, args['model-dir'] || null);
  const base = args.url || server.url;
  const { context, close } = await launch();
  const results = [];
  try {
    for (const size of sizes) {
      const { page, backend } = await openDemo(context, `${base}?backend=wasm`);
      const detail = await page.getAttribute('#backend', 'title');
      await page.evaluate(async (s) => {
        const image = new Image();
        image.src = 'samples/content_bird.jpg';
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = s;
        canvas.height = s;
        canvas.getContext('2d').drawImage(image, 0, 0, s, s);
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
        await window.demo.setImage('content', new File([blob], `bird_${s}.png`, { type: 'image/png' }));
      }, size);
      const seconds = [];
      for (let i = 0; i < repeat; i += 1) {
        const run = await page.evaluate(() => window.demo.run());
        seconds.push(run.seconds);
      }
      const warm = seconds.slice(1).sort((a, b) => a - b);
      const median = warm.length ? warm[Math.floor(warm.length / 2)] : seconds[0];
      const line = { size, backend, detail, first: seconds[0], warmMedian: median, seconds };
      results.push(line);
      console.log(`${size}x${size} on ${backend} (${detail}): first ${seconds[0].toFixed(2)} s, ` +
        `warm ${median.toFixed(2)} s per image (runs: ${seconds.map((s) => s.toFixed(2)).join(', ')})`);
      await page.close();
    }
  } finally {
    await close();
    if (server) server.close();
  }
  if (args.json) {
    const fs = await import('node:fs');
    fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
  }
}

main().catch((error) => {
  console.error(`error: ${error.stack || error.message}`);
  process.exit(1);
});
